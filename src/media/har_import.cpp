// SPDX-License-Identifier: GPL-3.0-or-later
#include "har_import.hpp"

#include <http/client.hpp>
#include <http/multipart.hpp>

#include "errors.hpp"

#include <dicom/inspect.hpp>
#include <dicom/part10.hpp>
#include <dicom/reassemble.hpp>

#include <core/base64.hpp>
#include <core/log.hpp>
#include <core/strings.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <system_error>
#include <utility>

namespace media {

namespace {

namespace fs = std::filesystem;

const char* const k_log = "source.har";
constexpr std::size_t k_max_notes = 200;

struct Url
{
  std::string origin_and_path; // for messages: no query, which may hold tokens
  std::string path;            // percent-encoded, as sent
  std::vector<std::pair<std::string, std::string>> query; // decoded
};

Url
parse_url(std::string_view url)
{
  Url u;
  const auto fragment = url.find('#');
  if (fragment != std::string_view::npos) {
    url = url.substr(0, fragment);
  }
  const auto question = url.find('?');
  const std::string_view before = url.substr(0, question);
  u.origin_and_path = std::string(before);
  const auto scheme = before.find("://");
  const auto path_start = before.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  u.path = path_start == std::string_view::npos ? "/" : std::string(before.substr(path_start));
  if (question != std::string_view::npos) {
    for (const auto& pair : core::split(url.substr(question + 1), '&')) {
      const auto eq = pair.find('=');
      u.query.emplace_back(http::url_decode(pair.substr(0, eq), true),
                           eq == std::string::npos ? std::string()
                                                   : http::url_decode(pair.substr(eq + 1), true));
    }
  }
  return u;
}

std::string
query_value(const Url& url, std::string_view name)
{
  for (const auto& [k, v] : url.query) {
    if (core::iequals_ascii(k, name)) {
      return v;
    }
  }
  return {};
}

// --- recognising DICOM by content -------------------------------------------

enum class Shape {
  none,
  part10,     // preamble + "DICM" (PS3.10 7.1)
  dicm_first, // "DICM" + meta header, preamble cut off
  meta_first, // meta header only, no preamble, no "DICM"
  dataset,    // a bare data set (group 0008 first), no meta header
};

bool
is_vr(char a, char b)
{
  return a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z';
}

Shape
classify(std::string_view b)
{
  const auto byte = [&b](std::size_t i) { return static_cast<unsigned char>(b[i]); };
  if (b.size() >= 132 + 8 && b.compare(128, 4, "DICM") == 0) {
    return Shape::part10;
  }
  // The meta header is always Explicit VR Little Endian (PS3.10 7.1).
  if (b.size() >= 12 && b.compare(0, 4, "DICM") == 0 && byte(4) == 0x02 && byte(5) == 0x00
      && is_vr(b[8], b[9])) {
    return Shape::dicm_first;
  }
  if (b.size() >= 8 && byte(0) == 0x02 && byte(1) == 0x00 && byte(3) == 0x00 && is_vr(b[4], b[5])) {
    return Shape::meta_first;
  }
  // A data set starting with group 0008 (element < 0100), explicit VR or
  // implicit with a plausible length.
  if (b.size() >= 64 && byte(0) == 0x08 && byte(1) == 0x00 && byte(3) == 0x00) {
    if (is_vr(b[4], b[5])) {
      return Shape::dataset;
    }
    const std::uint32_t length =
      byte(4) | byte(5) << 8 | byte(6) << 16 | static_cast<std::uint32_t>(byte(7)) << 24;
    if (length < b.size()) {
      return Shape::dataset;
    }
  }
  return Shape::none;
}

// --- Hinacom (platforms.md 3.1.5) --------------------------------------------

// "studyId/imageId" of a GetImageDicomTags request, or nothing.
std::optional<std::string>
hinacom_tags_key(const Url& url)
{
  const std::string path = core::to_lower_ascii(url.path);
  if (path.size() < 18 || path.compare(path.size() - 18, 18, "/getimagedicomtags") != 0) {
    return std::nullopt;
  }
  const auto study = query_value(url, "studyId");
  const auto image = query_value(url, "imageId");
  if (study.empty() || image.empty()) {
    return std::nullopt;
  }
  return study + "/" + image;
}

struct PixelRequest
{
  std::string key;   // studyId/imageId
  std::string frame; // the segment after imageId
  std::string level; // the last segment
};

// imageservice/api/image/{j2k|dicom}/<studyId>/<imageId>/<frame>/<level>.
std::optional<PixelRequest>
hinacom_pixel_request(const Url& url)
{
  const std::string marker = "/imageservice/api/image/";
  const auto at = core::to_lower_ascii(url.path).find(marker);
  if (at == std::string::npos) {
    return std::nullopt;
  }
  const auto segments = core::split(std::string_view(url.path).substr(at + marker.size()), '/');
  if (segments.size() < 5 || (!core::iequals_ascii(segments[0], "j2k") && !core::iequals_ascii(segments[0], "dicom"))) {
    return std::nullopt;
  }
  return PixelRequest{http::url_decode(segments[1], false) + "/" + http::url_decode(segments[2], false),
                      segments[3], segments[4]};
}

// The GetImageDicomTags array: [{"tag": "GGGG,EEEE", "name", "value"}].
std::optional<std::vector<dicom::TextTag>>
parse_tag_list(std::string_view text)
{
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_array()) {
    return std::nullopt;
  }
  std::vector<dicom::TextTag> tags;
  for (const auto& item : json) {
    if (!item.is_object() || !item.contains("tag") || !item["tag"].is_string()) {
      return std::nullopt;
    }
    const auto tag = item["tag"].get<std::string>();
    unsigned group = 0;
    unsigned element = 0;
    if (tag.size() != 9 || tag[4] != ','
        || std::sscanf(tag.c_str(), "%4x,%4x", &group, &element) != 2) {
      return std::nullopt;
    }
    dicom::TextTag t;
    t.group = static_cast<std::uint16_t>(group);
    t.element = static_cast<std::uint16_t>(element);
    const auto value = item.value("value", nlohmann::json());
    if (value.is_string()) {
      t.value = value.get<std::string>();
    } else if (!value.is_null()) {
      t.value = value.dump();
    }
    tags.push_back(std::move(t));
  }
  return tags;
}


bool
write_file(const fs::path& file, std::string_view prefix, std::string_view data)
{
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  return static_cast<bool>(out);
}

bool
read_file(const fs::path& file, std::string& out)
{
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (!in || ec) {
    return false;
  }
  out.resize(static_cast<std::size_t>(size));
  in.read(out.data(), static_cast<std::streamsize>(size));
  return static_cast<bool>(in);
}

void
remove_quietly(const fs::path& file)
{
  std::error_code ec;
  fs::remove(file, ec);
}

// --- what the capture holds --------------------------------------------------

// The fields of one log.entries[] element that matter; everything else in
// the HAR is parsed and dropped.
struct Entry
{
  long number = 0; // 1-based, for messages
  std::string url;
  long status = 0;
  std::string content_type; // response header
  std::string mime_type;    // response.content.mimeType
  std::string text;         // response.content.text
  bool has_text = false;
  std::string encoding; // response.content.encoding
};

struct Candidate
{
  fs::path file;
  bool complete = false;
  bool original = false; // a file as the server sent it, not a rebuild
  std::uint64_t size = 0;
  long order = 0;
};

// Which copy of an instance to keep (platforms.md 6.3 [rec]).
bool
better(const Candidate& a, const Candidate& b)
{
  if (a.complete != b.complete) {
    return a.complete;
  }
  if (a.original != b.original) {
    return a.original;
  }
  if (a.size != b.size) {
    return a.size > b.size;
  }
  return a.order < b.order;
}

class Importer
{
public:
  Importer(store::IngestSink& sink, HarSummary& summary) : m_sink(sink), m_summary(summary)
  {
  }

  Importer(const Importer&) = delete;
  Importer& operator=(const Importer&) = delete;

  // Temp files of an import that did not reach finish().
  ~Importer()
  {
    for (auto& [uid, c] : m_best) {
      remove_quietly(c.file);
    }
    for (auto& [key, files] : m_pixels) {
      for (const auto& f : files) {
        remove_quietly(f);
      }
    }
  }

  void on_entry(Entry& e)
  {
    const std::string label = "entry " + std::to_string(e.number);
    const Url url = parse_url(e.url);

    if (auto key = hinacom_tags_key(url)) {
      std::string text;
      if (e.encoding == "base64") {
        if (!core::base64_decode(e.text, text)) {
          return;
        }
      } else {
        text = std::move(e.text);
      }
      auto tags = parse_tag_list(text);
      if (!tags) {
        skip(label + " (" + url.origin_and_path + "): GetImageDicomTags is not a tag list");
      } else if (!tags->empty()) { // empty: not an image (platforms.md 3.1.5)
        m_tags.emplace(*key, Tags{std::move(*tags), false});
      }
      return;
    }

    std::string bytes;
    const Body got = body(e, label, bytes);
    const bool have_bytes = got == Body::bytes;

    if (auto request = hinacom_pixel_request(url)) {
      if (got == Body::mangled) {
        skip(label + ": Hinacom pixels saved as text by the browser (not base64), bytes lost");
      }
      if (!have_bytes) {
        return;
      }
      if (e.status >= 400) {
        skip(label + ": Hinacom pixel request failed with HTTP " + std::to_string(e.status));
        return;
      }
      // Frame 0 at level 3 (j2k) or 0 (raw) is the lossless original; other
      // levels may be reduced (platforms.md 3.1.5, 6.2).
      if (request->frame != "0" || (request->level != "3" && request->level != "0")) {
        skip(label + ": Hinacom pixels at /" + request->frame + "/" + request->level
             + ", not a full-quality level");
        return;
      }
      const auto file = m_sink.spool_path();
      if (!write_file(file, {}, bytes)) {
        remove_quietly(file);
        fail(label + ": cannot write a temp file in the spool");
        return;
      }
      m_pixels[request->key].push_back(file);
      return;
    }
    if (!have_bytes) {
      return;
    }

    const std::string content_type = !e.content_type.empty() ? e.content_type : e.mime_type;
    if (core::to_lower_ascii(core::trim(content_type)).rfind("multipart/", 0) == 0
        && classify(bytes) == Shape::none) {
      auto boundary = http::boundary_of(content_type);
      if (boundary.empty()) {
        boundary = leading_boundary(bytes);
      }
      const auto parts = http::split_multipart(bytes, boundary).parts;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        found(parts[i], label + " part " + std::to_string(i + 1));
      }
      return;
    }
    if (classify(bytes) == Shape::none && bytes.rfind("--", 0) == 0) {
      // Multipart without its Content-Type (headers not exported).
      const auto parts = http::split_multipart(bytes, leading_boundary(bytes)).parts;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        found(parts[i], label + " part " + std::to_string(i + 1));
      }
      return;
    }
    found(bytes, label);
  }

  // One element of Chrome's `_webSocketMessages` (opcode 2 = binary, data in
  // base64). socket.io/engine.io v3 put a 0x04 "message" byte before each
  // binary payload (platforms.md 3.7).
  void on_websocket(long entry, long index, long opcode, const std::string& data)
  {
    if (opcode != 2 || data.empty()) {
      return;
    }
    std::string bytes;
    if (!core::base64_decode(data, bytes)) {
      return;
    }
    const std::string label =
      "entry " + std::to_string(entry) + " WebSocket message " + std::to_string(index);
    if (!bytes.empty() && bytes[0] == '\x04'
        && classify(std::string_view(bytes).substr(1)) != Shape::none) {
      found(std::string_view(bytes).substr(1), label);
    } else {
      found(bytes, label);
    }
  }

  // Rebuild the Hinacom pairs, then ingest the best copy of each instance.
  void finish()
  {
    for (auto& [key, files] : m_pixels) {
      auto tags = m_tags.find(key);
      for (const auto& file : files) {
        if (tags == m_tags.end()) {
          remove_quietly(file);
          skip("Hinacom image " + key + ": pixels without a GetImageDicomTags response");
          continue;
        }
        tags->second.used = true;
        std::string pixels;
        const bool read = read_file(file, pixels);
        remove_quietly(file);
        if (!read) {
          fail("Hinacom image " + key + ": cannot read the temp file");
          continue;
        }
        const auto out = m_sink.spool_path();
        const auto rebuilt = dicom::reassemble(tags->second.tags, pixels, out);
        if (!rebuilt) {
          remove_quietly(out);
          fail("Hinacom image " + key + ": " + rebuilt.error().message());
          continue;
        }
        ++m_summary.rebuilt;
        if (!rebuilt->skipped.empty()) {
          CF_LOG(debug, k_log,
                 "Hinacom image " << key << ": " << rebuilt->skipped.size()
                                  << " element(s) left out");
        }
        add(out, false, "Hinacom image " + key);
      }
    }
    m_pixels.clear();
    for (const auto& [key, tags] : m_tags) {
      if (!tags.used) {
        skip("Hinacom image " + key + ": tag list without a full-quality pixel response");
      }
    }

    std::vector<std::pair<long, std::string>> order;
    for (const auto& [uid, c] : m_best) {
      order.emplace_back(c.order, uid);
    }
    std::sort(order.begin(), order.end());
    const store::Origin origin{store::Origin::Kind::source, "har"};
    for (const auto& [n, uid] : order) {
      const Candidate c = m_best[uid];
      m_best.erase(uid);
      if (!c.complete) {
        remove_quietly(c.file);
        skip(uid + ": only a truncated or incomplete copy in the capture");
        continue;
      }
      if (m_sink.contains(uid)) {
        remove_quietly(c.file);
        ++m_summary.already_stored;
        continue;
      }
      const auto result = m_sink.ingest(c.file, origin);
      if (!result) {
        fail(uid + ": " + result.error().message());
      } else if (result->duplicate) {
        ++m_summary.already_stored;
      } else {
        ++m_summary.imported;
      }
    }
  }

  void note(const std::string& line)
  {
    if (m_summary.notes.size() < k_max_notes) {
      m_summary.notes.push_back(line);
    } else if (m_summary.notes.size() == k_max_notes) {
      m_summary.notes.push_back("(further notes left out)");
    }
  }

private:
  struct Tags
  {
    std::vector<dicom::TextTag> tags;
    bool used = false;
  };

  void skip(const std::string& why)
  {
    ++m_summary.skipped;
    note(why);
  }

  void fail(const std::string& why)
  {
    ++m_summary.failed;
    note(why);
    CF_LOG(warn, k_log, why);
  }

  static std::string leading_boundary(std::string_view body)
  {
    if (body.rfind("--", 0) != 0) {
      return {};
    }
    const auto end = body.find_first_of("\r\n");
    return std::string(core::trim(body.substr(2, end == std::string_view::npos ? 0 : end - 2)));
  }

  // The response body as bytes. A body without base64 encoding is the text
  // the browser decoded: exact only if it is ASCII; a binary body saved that
  // way lost its high bytes for good (platforms.md 6.2).
  enum class Body { none, bytes, mangled };

  Body body(Entry& e, const std::string& label, std::string& out)
  {
    if (!e.has_text || e.text.empty()) {
      return Body::none;
    }
    if (e.encoding == "base64") {
      const bool ok = core::base64_decode(e.text, out);
      std::string().swap(e.text);
      return ok ? Body::bytes : Body::none;
    }
    const bool ascii = std::all_of(e.text.begin(), e.text.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) {
      out = std::move(e.text);
      return Body::bytes;
    }
    const auto head = std::string_view(e.text).substr(0, 512);
    if (head.find("DICM") != std::string_view::npos || classify(e.text) != Shape::none) {
      ++m_summary.dicom_found;
      skip(label + ": DICOM saved as text by the browser (not base64), bytes lost");
    }
    return Body::mangled;
  }

  // A DICOM-looking body: into a temp file as a Part 10 file, then compete.
  void found(std::string_view bytes, const std::string& label)
  {
    const Shape shape = classify(bytes);
    if (shape == Shape::none) {
      return;
    }
    ++m_summary.dicom_found;
    const auto file = m_sink.spool_path();
    static const std::string k_preamble(128, '\0');
    bool written = false;
    switch (shape) {
    case Shape::part10:
      written = write_file(file, {}, bytes);
      break;
    case Shape::dicm_first:
      written = write_file(file, k_preamble, bytes);
      break;
    case Shape::meta_first:
      written = write_file(file, k_preamble + "DICM", bytes);
      break;
    case Shape::dataset: {
      // No meta header at all: let DCMTK write one (PS3.10 7.1).
      const auto raw = m_sink.spool_path();
      written = write_file(raw, {}, bytes);
      if (written) {
        if (auto r = dicom::write_as_part10(raw, file); !r) {
          remove_quietly(raw);
          remove_quietly(file);
          skip(label + ": data set without meta header does not parse");
          return;
        }
      }
      remove_quietly(raw);
      break;
    }
    case Shape::none:
      break;
    }
    if (!written) {
      remove_quietly(file);
      fail(label + ": cannot write a temp file in the spool");
      return;
    }
    add(file, true, label);
  }

  void add(const fs::path& file, bool original, const std::string& label)
  {
    std::string why;
    const auto quality = dicom::inspect_copy(file, why);
    if (!quality) {
      remove_quietly(file);
      skip(label + ": " + why);
      return;
    }
    Candidate c{file, quality->complete, original, quality->size, m_order++};
    auto it = m_best.find(quality->sop_instance_uid);
    if (it == m_best.end()) {
      m_best.emplace(quality->sop_instance_uid, std::move(c));
      return;
    }
    ++m_summary.duplicates;
    if (better(c, it->second)) {
      remove_quietly(it->second.file);
      c.order = it->second.order; // keep the instance's place in the import order
      it->second = std::move(c);
    } else {
      remove_quietly(file);
    }
  }

  store::IngestSink& m_sink;
  HarSummary& m_summary;
  std::map<std::string, Candidate> m_best;               // SOP Instance UID → best copy
  std::map<std::string, Tags> m_tags;                    // studyId/imageId → tag list
  std::map<std::string, std::vector<fs::path>> m_pixels; // studyId/imageId → pixel bodies
  long m_order = 0;
};

// --- the SAX walk over the HAR (HAR 1.2: log.entries[]) --------------------

enum class Ctx {
  other,
  root,
  log,
  entries,
  entry,
  request,
  response,
  headers,
  header,
  content,
  websocket_messages,
  websocket_message,
};

class Walker : public nlohmann::json_sax<nlohmann::json>
{
public:
  explicit Walker(Importer& importer) : m_importer(importer)
  {
  }

  bool saw_entries() const
  {
    return m_saw_entries;
  }
  long entries() const
  {
    return m_entry.number;
  }
  const std::string& error() const
  {
    return m_error;
  }

  bool null() override
  {
    return true;
  }
  bool boolean(bool) override
  {
    return true;
  }
  bool number_integer(number_integer_t value) override
  {
    integer(static_cast<long>(value));
    return true;
  }
  bool number_unsigned(number_unsigned_t value) override
  {
    integer(static_cast<long>(value));
    return true;
  }
  bool number_float(number_float_t value, const string_t&) override
  {
    if (value >= 0 && value < 1e9) { // a status written as 200.0, say
      integer(static_cast<long>(value));
    }
    return true;
  }
  bool binary(binary_t&) override
  {
    return true;
  }

  bool string(string_t& value) override
  {
    if (m_stack.empty()) {
      return true;
    }
    const Frame& top = m_stack.back();
    switch (top.ctx) {
    case Ctx::request:
      if (top.key == "url") {
        m_entry.url = value;
      }
      break;
    case Ctx::header:
      if (top.key == "name") {
        m_header_name = value;
      } else if (top.key == "value") {
        m_header_value = value;
      }
      break;
    case Ctx::content:
      if (top.key == "text") {
        m_entry.text = std::move(value); // the one big string: taken, not copied
        m_entry.has_text = true;
      } else if (top.key == "encoding") {
        m_entry.encoding = value;
      } else if (top.key == "mimeType") {
        m_entry.mime_type = value;
      }
      break;
    case Ctx::websocket_message:
      if (top.key == "data") {
        m_ws_data = std::move(value);
      }
      break;
    default:
      break;
    }
    return true;
  }

  bool start_object(std::size_t) override
  {
    const Ctx ctx = child(false);
    m_stack.push_back({ctx, false, {}});
    if (ctx == Ctx::entry) {
      const long number = m_entry.number + 1;
      m_entry = Entry{};
      m_entry.number = number;
      m_ws_index = 0;
    } else if (ctx == Ctx::header) {
      m_header_name.clear();
      m_header_value.clear();
    } else if (ctx == Ctx::websocket_message) {
      m_ws_opcode = 0;
      m_ws_data.clear();
    }
    return true;
  }

  bool key(string_t& value) override
  {
    if (!m_stack.empty()) {
      m_stack.back().key = value;
    }
    return true;
  }

  bool end_object() override
  {
    const Ctx ctx = m_stack.empty() ? Ctx::other : m_stack.back().ctx;
    if (!m_stack.empty()) {
      m_stack.pop_back();
    }
    switch (ctx) {
    case Ctx::header:
      if (core::iequals_ascii(m_header_name, "content-type")) {
        m_entry.content_type = m_header_value;
      }
      break;
    case Ctx::websocket_message:
      m_importer.on_websocket(m_entry.number, ++m_ws_index, m_ws_opcode, m_ws_data);
      std::string().swap(m_ws_data);
      break;
    case Ctx::entry: {
      m_importer.on_entry(m_entry);
      const long number = m_entry.number;
      m_entry = Entry{}; // frees the body
      m_entry.number = number;
      break;
    }
    default:
      break;
    }
    return true;
  }

  bool start_array(std::size_t) override
  {
    const Ctx ctx = child(true);
    if (ctx == Ctx::entries) {
      m_saw_entries = true;
    }
    m_stack.push_back({ctx, true, {}});
    return true;
  }

  bool end_array() override
  {
    if (!m_stack.empty()) {
      m_stack.pop_back();
    }
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override
  {
    m_error = "at byte " + std::to_string(position) + ": " + ex.what();
    return false;
  }

private:
  struct Frame
  {
    Ctx ctx;
    bool array;
    std::string key; // the last key seen in this object
  };

  // The context of a value about to start, from where it sits.
  Ctx child(bool is_array) const
  {
    if (m_stack.empty()) {
      return is_array ? Ctx::other : Ctx::root;
    }
    const Frame& parent = m_stack.back();
    const std::string& k = parent.key;
    switch (parent.ctx) {
    case Ctx::root:
      return !is_array && k == "log" ? Ctx::log : Ctx::other;
    case Ctx::log:
      return is_array && k == "entries" ? Ctx::entries : Ctx::other;
    case Ctx::entries:
      return is_array ? Ctx::other : Ctx::entry;
    case Ctx::entry:
      if (!is_array && k == "request") {
        return Ctx::request;
      }
      if (!is_array && k == "response") {
        return Ctx::response;
      }
      if (is_array && k == "_webSocketMessages") {
        return Ctx::websocket_messages;
      }
      return Ctx::other;
    case Ctx::response:
      if (is_array && k == "headers") {
        return Ctx::headers;
      }
      return !is_array && k == "content" ? Ctx::content : Ctx::other;
    case Ctx::headers:
      return is_array ? Ctx::other : Ctx::header;
    case Ctx::websocket_messages:
      return is_array ? Ctx::other : Ctx::websocket_message;
    default:
      return Ctx::other;
    }
  }

  void integer(long value)
  {
    if (m_stack.empty()) {
      return;
    }
    const Frame& top = m_stack.back();
    if (top.ctx == Ctx::response && top.key == "status") {
      m_entry.status = value;
    } else if (top.ctx == Ctx::websocket_message && top.key == "opcode") {
      m_ws_opcode = value;
    }
  }

  Importer& m_importer;
  std::vector<Frame> m_stack;
  Entry m_entry;
  std::string m_header_name;
  std::string m_header_value;
  long m_ws_opcode = 0;
  long m_ws_index = 0;
  std::string m_ws_data;
  bool m_saw_entries = false;
  std::string m_error;
};

} // namespace

core::Result<HarSummary>
import_har(const std::filesystem::path& har, store::IngestSink& sink)
{
  std::vector<char> buffer(std::size_t{1} << 20);
  std::ifstream in;
  in.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  in.open(har, std::ios::binary);
  if (!in) {
    return core::make_error(std::error_code(errno != 0 ? errno : ENOENT, std::system_category()),
                            har.string());
  }

  HarSummary summary;
  Importer importer(sink, summary);
  Walker walker(importer);
  const bool parsed = nlohmann::json::sax_parse(in, &walker);
  summary.entries = walker.entries();
  if (!walker.saw_entries()) {
    return core::make_error(Errc::not_a_capture,
                            har.string() + ": not a HAR file (no log.entries"
                              + (parsed ? std::string(")") : "; " + walker.error() + ")"));
  }
  if (!parsed) {
    importer.note("HAR cut short " + walker.error() + "; imported what came before");
    CF_LOG(warn, k_log, har.string() << ": cut short " << walker.error());
  }
  importer.finish();
  CF_LOG(info, k_log,
         har.string() << ": " << summary.entries << " entries, " << summary.dicom_found
                      << " DICOM found, " << summary.rebuilt << " rebuilt, " << summary.imported
                      << " imported, " << summary.already_stored << " already stored, "
                      << summary.duplicates << " duplicates, " << summary.skipped << " skipped, "
                      << summary.failed << " failed");
  return summary;
}

} // namespace media
