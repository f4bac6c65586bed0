// SPDX-License-Identifier: GPL-3.0-or-later
// WADO-RS (PS3.18 10.4): instances as multipart/related application/dicom,
// metadata as DICOM JSON, frames and bulk data; the routing of /dicom-web.
#include "dicomweb.hpp"

#include <core/crypto.hpp>
#include <core/log.hpp>
#include <core/strings.hpp>
#include <dicom/transcode.hpp>
#include <dicom/transfer_syntax.hpp>
#include <dicom/web_objects.hpp>

#include <fstream>

namespace web::dicomweb {

namespace {

const std::string k_root = "/dicom-web";
const std::string k_explicit_le = "1.2.840.10008.1.2.1";

std::string
boundary()
{
  const auto bytes = core::random_bytes(12);
  return "cloudfilm-"
         + core::to_hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

// What an Accept header asks of a retrieve (PS3.18 8.7.3-8.7.5): the media
// types named, and the transfer-syntax parameters given ("*": any).
struct Accept
{
  std::vector<std::string> types;      // e.g. "multipart/related", "application/dicom"
  std::vector<std::string> part_types; // the type= parameters of multipart/related
  std::vector<std::string> syntaxes;   // transfer-syntax= values
  bool any = false;                    // no Accept, or */*
};

std::string
unquote(std::string v)
{
  v = std::string(core::trim(v));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    v = v.substr(1, v.size() - 2);
  }
  return v;
}

Accept
parse_accept(const std::string& header)
{
  Accept a;
  if (header.empty()) {
    a.any = true;
    return a;
  }
  for (const auto& item : core::split(header, ',')) {
    const auto params = core::split(item, ';');
    if (params.empty()) {
      continue;
    }
    const auto type = core::to_lower_ascii(std::string(core::trim(params[0])));
    if (type == "*/*" || type == "multipart/*") {
      a.any = true;
    }
    a.types.push_back(type);
    for (std::size_t i = 1; i < params.size(); ++i) {
      const auto eq = params[i].find('=');
      if (eq == std::string::npos) {
        continue;
      }
      const auto name = core::to_lower_ascii(std::string(core::trim(params[i].substr(0, eq))));
      const auto value = unquote(params[i].substr(eq + 1));
      if (name == "type") {
        a.part_types.push_back(core::to_lower_ascii(value));
      } else if (name == "transfer-syntax") {
        a.syntaxes.push_back(value);
      }
    }
  }
  return a;
}

bool
has(const std::vector<std::string>& list, const std::string& value)
{
  return std::find(list.begin(), list.end(), value) != list.end();
}

// The transfer syntax to send a stored `stored` instance in, or empty if the
// Accept header allows none we can make (406).
std::string
choose_syntax(const Accept& accept, const std::string& stored)
{
  if (accept.syntaxes.empty()) {
    // No parameter: Explicit VR Little Endian (8.7.3.3.1), unless the pixel
    // data can only be had compressed (then as stored).
    return dicom::can_decode(stored) ? k_explicit_le : stored;
  }
  for (const auto& ts : accept.syntaxes) {
    if (ts == "*" || ts == stored) {
      return stored;
    }
  }
  for (const auto& ts : accept.syntaxes) {
    if (dicom::can_decode(stored) && (ts == k_explicit_le || dicom::can_encode(ts))) {
      return ts;
    }
  }
  return {};
}

// The media type of a frame in `ts` (PS3.18 Table 8.7.3-5).
std::string
frame_media_type(const std::string& ts, bool encapsulated)
{
  if (!encapsulated) {
    return "application/octet-stream";
  }
  if (ts == "1.2.840.10008.1.2.4.50" || ts == "1.2.840.10008.1.2.4.51"
      || ts == "1.2.840.10008.1.2.4.57" || ts == "1.2.840.10008.1.2.4.70") {
    return "image/jpeg";
  }
  if (ts == "1.2.840.10008.1.2.4.80" || ts == "1.2.840.10008.1.2.4.81") {
    return "image/jls";
  }
  if (ts == "1.2.840.10008.1.2.4.90" || ts == "1.2.840.10008.1.2.4.91") {
    return "image/jp2";
  }
  if (ts == "1.2.840.10008.1.2.4.92" || ts == "1.2.840.10008.1.2.4.93") {
    return "image/jpx";
  }
  if (ts == "1.2.840.10008.1.2.5") {
    return "image/dicom-rle";
  }
  return "application/octet-stream";
}

Response
not_acceptable(const std::string& what)
{
  return error_response(406, "bad_request", what);
}

struct Target
{
  std::string study;
  std::string series;
  std::string instance;
};

core::Result<std::vector<store::RetrieveItem>>
items_of(const Context& ctx, const Target& t)
{
  store::FindRequest find;
  find.model = store::Model::study_root;
  find.level = !t.instance.empty() ? store::Level::image
               : !t.series.empty() ? store::Level::series
                                   : store::Level::study;
  find.keys.push_back({0x0020000D, t.study, false});
  if (!t.series.empty()) {
    find.keys.push_back({0x0020000E, t.series, false});
  }
  if (!t.instance.empty()) {
    find.keys.push_back({0x00080018, t.instance, false});
  }
  return ctx.query->retrieve(find);
}

std::string
series_of(const Context& ctx, const std::string& sop)
{
  auto row = ctx.query->instance(sop);
  return row && *row ? (*row)->series_instance_uid : std::string();
}

// The file to send for `item` in `ts`: the stored one, or a converted copy
// in the spool (removed by the caller).
core::Result<std::filesystem::path>
file_for(const Context& ctx, const store::RetrieveItem& item, const std::string& ts, bool& temp)
{
  temp = false;
  if (ts == item.transfer_syntax_uid) {
    return item.path;
  }
  auto out = ctx.sink->spool_path();
  if (auto r = dicom::write_in_syntax(item.path, ts, out); !r) {
    return r.error();
  }
  temp = true;
  return out;
}

bool
stream_file(BodyWriter& out, const std::filesystem::path& file)
{
  std::ifstream in(file, std::ios::binary);
  std::string buffer(1 << 20, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = in.gcount();
    if (n > 0 && !out.write(buffer.substr(0, static_cast<std::size_t>(n)))) {
      return false;
    }
  }
  return !in.bad();
}

Response
retrieve(const Context& ctx, const Request& request, const Target& target)
{
  auto items = items_of(ctx, target);
  if (!items) {
    return error_response(400, "bad_request", items.error().message());
  }
  if (items->empty()) {
    return error_response(404, "not_found", "no such study, series or instance");
  }
  const auto accept = parse_accept(request.header("accept"));
  const bool multipart = accept.any || has(accept.types, "multipart/related");
  const bool single = has(accept.types, "application/dicom") && !target.instance.empty();
  if (!multipart && !single) {
    return not_acceptable("instances are sent as multipart/related; type=\"application/dicom\"");
  }
  if (!accept.part_types.empty() && !has(accept.part_types, "application/dicom") && !single) {
    return not_acceptable("instances are application/dicom parts");
  }
  // One syntax per instance; refuse the whole request if one cannot be met.
  std::vector<std::string> syntaxes;
  for (const auto& item : *items) {
    auto ts = choose_syntax(accept, item.transfer_syntax_uid);
    if (ts.empty()) {
      return not_acceptable("instance " + item.sop_instance_uid + " is stored as "
                            + item.transfer_syntax_uid
                            + " and cannot be converted to what was asked");
    }
    syntaxes.push_back(ts);
  }
  Response r;
  if (!multipart) {
    bool temp = false;
    auto file = file_for(ctx, items->front(), syntaxes.front(), temp);
    if (!file) {
      return error_response(500, "internal", file.error().message());
    }
    r.content_type = "application/dicom";
    if (!temp) {
      r.file = *file;
    } else {
      // Sent as a stream so the converted copy can go afterwards.
      auto path = *file;
      r.stream = [path](BodyWriter& out) {
        stream_file(out, path);
        std::error_code ec;
        std::filesystem::remove(path, ec);
      };
    }
    return r;
  }
  const auto b = boundary();
  r.content_type = "multipart/related; type=\"application/dicom\"; boundary=" + b;
  auto list = *items;
  auto c = ctx;
  r.stream = [c, list, syntaxes, b](BodyWriter& out) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      bool temp = false;
      auto file = file_for(c, list[i], syntaxes[i], temp);
      if (!file) {
        CF_LOG(warn, "web",
               "WADO-RS: " << list[i].sop_instance_uid << ": " << file.error().message());
        throw std::runtime_error("conversion failed");
      }
      const bool ok = out.write("--" + b + "\r\nContent-Type: application/dicom; transfer-syntax="
                                + syntaxes[i] + "\r\n\r\n")
                      && stream_file(out, *file) && out.write("\r\n");
      if (temp) {
        std::error_code ec;
        std::filesystem::remove(*file, ec);
      }
      if (!ok) {
        return;
      }
    }
    out.write("--" + b + "--\r\n");
  };
  return r;
}

Response
metadata(const Context& ctx, const Target& target)
{
  auto items = items_of(ctx, target);
  if (!items) {
    return error_response(400, "bad_request", items.error().message());
  }
  if (items->empty()) {
    return error_response(404, "not_found", "no such study, series or instance");
  }
  std::string out = "[";
  bool first = true;
  for (const auto& item : *items) {
    const auto series =
        target.series.empty() ? series_of(ctx, item.sop_instance_uid) : target.series;
    const auto bulk = k_root + "/studies/" + target.study + "/series/" + series + "/instances/"
                      + item.sop_instance_uid + "/bulk/7FE00010";
    auto json = dicom::instance_json(item.path, bulk, ctx.fallback_charset);
    if (!json) {
      CF_LOG(warn, "web",
             "metadata of " << item.sop_instance_uid << ": " << json.error().message());
      continue;
    }
    out += (first ? "" : ",") + *json;
    first = false;
  }
  out += "]";
  Response r;
  r.body = std::move(out);
  r.content_type = "application/dicom+json";
  return r;
}

Response
frames(const Context& ctx, const Request& request, const Target& target, const std::string& list)
{
  std::vector<long> numbers;
  if (list.empty()) {
    numbers.push_back(-1); // bulk: every frame
  } else {
    for (const auto& n : core::split(list, ',')) {
      try {
        std::size_t used = 0;
        const long v = std::stol(n, &used);
        if (used != n.size() || v < 1) {
          throw std::invalid_argument(n);
        }
        numbers.push_back(v);
      } catch (...) {
        return error_response(400, "bad_request",
                              "frame numbers are 1, 2, ... separated by commas");
      }
    }
  }
  auto items = items_of(ctx, target);
  if (!items) {
    return error_response(400, "bad_request", items.error().message());
  }
  if (items->empty()) {
    return error_response(404, "not_found", "no such instance");
  }
  const auto& item = items->front();
  const auto accept = parse_accept(request.header("accept"));
  std::string ts = item.transfer_syntax_uid;
  bool any = accept.any && accept.syntaxes.empty();
  for (const auto& s : accept.syntaxes) {
    any = any || s == "*" || s == ts;
  }
  std::filesystem::path source = item.path;
  bool temp = false;
  if (dicom::is_encapsulated(ts) && !any) {
    // The client wants uncompressed frames: decode a copy (8.7.3.3.1).
    if (!dicom::can_decode(ts)) {
      return not_acceptable("the frames are stored as " + ts + " and cannot be decoded here");
    }
    auto copy = file_for(ctx, item, k_explicit_le, temp);
    if (!copy) {
      return error_response(500, "internal", copy.error().message());
    }
    source = *copy;
  }
  if (numbers.size() == 1 && numbers[0] == -1) {
    numbers.clear(); // every frame
  }
  auto f = dicom::read_frames(source, numbers);
  if (temp) {
    std::error_code ec;
    std::filesystem::remove(source, ec);
  }
  if (!f) {
    if (f.error().code == std::errc::result_out_of_range) {
      return error_response(404, "not_found", f.error().message());
    }
    return error_response(400, "bad_request", f.error().message());
  }
  const auto type = frame_media_type(f->transfer_syntax, f->encapsulated);
  const auto b = boundary();
  std::string body;
  for (std::size_t i = 0; i < f->data.size(); ++i) {
    body += "--" + b + "\r\nContent-Type: " + type + "; transfer-syntax=" + f->transfer_syntax
            + "\r\n\r\n";
    body += f->data[i];
    body += "\r\n";
  }
  body += "--" + b + "--\r\n";
  Response r;
  r.body = std::move(body);
  r.content_type = "multipart/related; type=\"" + type + "\"; boundary=" + b;
  return r;
}

} // namespace

Response
handle(const Context& ctx, const Request& request, const std::vector<std::string>& s)
{
  if (request.method == "POST" && !s.empty() && s[0] == "studies" && s.size() <= 2) {
    if (s.size() == 2 && !is_uid(s[1])) {
      return error_response(400, "bad_request", "not a DICOM UID: " + s[1]);
    }
    return store_instances(ctx, request, s.size() == 2 ? s[1] : std::string());
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return error_response(405, "method_not_allowed", "this DICOMweb resource only answers GET");
  }
  const auto n = s.size();
  SearchContext search_ctx{ctx.query, store::Level::study, {}, k_root};
  if (n == 1 && (s[0] == "studies" || s[0] == "series" || s[0] == "instances")) {
    search_ctx.level = s[0] == "studies"  ? store::Level::study
                       : s[0] == "series" ? store::Level::series
                                          : store::Level::image;
    return search(search_ctx, request);
  }
  if (n < 2 || s[0] != "studies") {
    return error_response(404, "not_found", "no such DICOMweb resource");
  }
  // Study, series and instance UIDs sit at positions 1, 3 and 5.
  for (std::size_t i = 1; i < n && i <= 5; i += 2) {
    if (!is_uid(s[i])) {
      return error_response(400, "bad_request", "not a DICOM UID: " + s[i]);
    }
  }
  Target t;
  t.study = s[1];
  if (n == 2) {
    return retrieve(ctx, request, t);
  }
  if (n == 3 && s[2] == "metadata") {
    return metadata(ctx, t);
  }
  if (n == 3 && (s[2] == "series" || s[2] == "instances")) {
    search_ctx.level = s[2] == "series" ? store::Level::series : store::Level::image;
    search_ctx.fixed[0x0020000D] = t.study;
    return search(search_ctx, request);
  }
  if (n < 4 || s[2] != "series") {
    return error_response(404, "not_found", "no such DICOMweb resource");
  }
  t.series = s[3];
  if (n == 4) {
    return retrieve(ctx, request, t);
  }
  if (n == 5 && s[4] == "metadata") {
    return metadata(ctx, t);
  }
  if (n == 5 && s[4] == "instances") {
    search_ctx.level = store::Level::image;
    search_ctx.fixed[0x0020000D] = t.study;
    search_ctx.fixed[0x0020000E] = t.series;
    return search(search_ctx, request);
  }
  if (n < 6 || s[4] != "instances") {
    return error_response(404, "not_found", "no such DICOMweb resource");
  }
  t.instance = s[5];
  if (n == 6) {
    return retrieve(ctx, request, t);
  }
  if (n == 7 && s[6] == "metadata") {
    return metadata(ctx, t);
  }
  if (n == 8 && s[6] == "frames") {
    return frames(ctx, request, t, s[7]);
  }
  if (n == 8 && s[6] == "bulk" && s[7] == "7FE00010") {
    return frames(ctx, request, t, "");
  }
  return error_response(404, "not_found", "no such DICOMweb resource");
}

} // namespace web::dicomweb
