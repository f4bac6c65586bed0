// SPDX-License-Identifier: GPL-3.0-or-later
#include "har_import.hpp"

#include "errors.hpp"
#include "har_bodies.hpp"
#include "har_walker.hpp"

#include <core/base64.hpp>
#include <core/log.hpp>
#include <core/strings.hpp>
#include <dicom/inspect.hpp>
#include <dicom/part10.hpp>
#include <dicom/reassemble.hpp>
#include <http/multipart.hpp>

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

using namespace har;

namespace fs = std::filesystem;

const char* const k_log = "source.har";
constexpr std::size_t k_max_notes = 200;

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

class Importer final : public EntryHandler
{
public:
  Importer(store::IngestSink& sink, HarSummary& summary) : m_sink(sink), m_summary(summary) {}

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

  void on_entry(Entry& e) override
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
  void on_websocket(long entry, long index, long opcode, const std::string& data) override
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
  const auto walk = walk_har(in, importer);
  summary.entries = walk.entries;
  if (!walk.saw_entries) {
    return core::make_error(Errc::not_a_capture,
                            har.string() + ": not a HAR file (no log.entries"
                                + (walk.parsed ? std::string(")") : "; " + walk.error + ")"));
  }
  if (!walk.parsed) {
    importer.note("HAR cut short " + walk.error + "; imported what came before");
    CF_LOG(warn, k_log, har.string() << ": cut short " << walk.error);
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
