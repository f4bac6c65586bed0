// SPDX-License-Identifier: GPL-3.0-or-later
#include "framing.hpp"

#include <core/strings.hpp>
#include <http/client.hpp>
#include <source/source.hpp>

#include <nlohmann/json.hpp>

namespace szjudianyun {

namespace {

using Json = nlohmann::ordered_json;

core::Error
changed(const std::string& what)
{
  return core::make_error(source::Errc::upstream_changed, what);
}

long
number_of(const Json& j, const char* key, long fallback)
{
  const auto it = j.find(key);
  if (it == j.end()) {
    return fallback;
  }
  if (it->is_number_integer()) {
    return it->get<long>();
  }
  if (it->is_string()) {
    try {
      return std::stol(it->get<std::string>());
    } catch (const std::exception&) {
    }
  }
  return fallback;
}

} // namespace

core::Result<ShareParams>
parse_share_url(const std::string& url)
{
  const auto q = http::query_after_last_question_mark(url);
  ShareParams p;
  const auto get = [&](const char* k) {
    const auto it = q.find(k);
    return it == q.end() ? std::string() : it->second;
  };
  p.hospital_id = get("a");
  p.study = get("b");
  p.password = get("c");
  if (p.hospital_id.empty() || p.study.empty()) {
    return core::make_error(source::Errc::bad_request,
                            "the link needs a= (hospital) and b= (study)");
  }
  // The page's script decodes them with decodeURIComponent (UTF-8 only) and
  // they go out as JSON strings; other bytes would make the dump throw.
  for (const auto* v : {&p.hospital_id, &p.study, &p.password}) {
    if (!core::is_valid_utf8(*v)) {
      return core::make_error(source::Errc::bad_request, "the link's a=, b= or c= is not UTF-8");
    }
  }
  return p;
}

core::Result<Handshake>
parse_handshake(const std::string& body)
{
  const auto first = body.find('{');
  const auto last = body.rfind('}');
  if (first == std::string::npos || last == std::string::npos || last < first) {
    return changed("socket.io handshake without JSON");
  }
  Json j;
  try {
    j = Json::parse(body.substr(first, last - first + 1));
  } catch (const std::exception& e) {
    return changed(std::string("socket.io handshake: ") + e.what());
  }
  Handshake h;
  if (!j.is_object() || !j.contains("sid") || !j["sid"].is_string()
      || j["sid"].get<std::string>().empty()) {
    return changed("socket.io handshake without sid");
  }
  h.sid = j["sid"].get<std::string>();
  h.ping_interval_ms = number_of(j, "pingInterval", h.ping_interval_ms);
  h.ping_timeout_ms = number_of(j, "pingTimeout", h.ping_timeout_ms);
  return h;
}

Frame
classify(const std::string& t)
{
  if (t.empty()) {
    return Frame::other;
  }
  switch (t[0]) {
  case '0':
    return Frame::open;
  case '1':
    return Frame::close;
  case '2':
    return Frame::ping;
  case '3':
    return Frame::pong;
  case '5':
    return Frame::upgrade;
  case '6':
    return Frame::noop;
  case '4':
    if (t.size() < 2) {
      return Frame::other;
    }
    switch (t[1]) {
    case '2':
      return Frame::event;
    case '5':
      return Frame::binary_event;
    case '1':
      return Frame::disconnect;
    case '4':
      return Frame::error;
    default:
      return Frame::other;
    }
  default:
    return Frame::other;
  }
}

std::string
send_message(const std::string& object_json)
{
  return "42[\"sendMessage\"," + object_json + "]";
}

core::Result<std::string>
event_payload(const std::string& text)
{
  if (classify(text) != Frame::event) {
    return changed("not a socket.io event: " + text.substr(0, 40));
  }
  // 42[/nsp,][ack id][...]
  auto start = text.find('[');
  if (start == std::string::npos) {
    return changed("socket.io event without data");
  }
  return text.substr(start);
}

std::string
strip_binary_marker(std::string payload)
{
  if (!payload.empty() && payload[0] == '\x04') {
    payload.erase(0, 1);
  }
  return payload;
}

core::Result<StudyInfo>
parse_study_info(const std::string& event_frame)
{
  auto payload = event_payload(event_frame);
  if (!payload) {
    return payload.error();
  }
  Json j;
  try {
    j = Json::parse(*payload);
  } catch (const std::exception& e) {
    return changed(std::string("study info: ") + e.what());
  }
  if (!j.is_array() || j.size() < 2 || !j[1].is_object()) {
    return changed("study info is not [event, {...}]");
  }
  const auto& o = j[1];
  if (const auto e = o.find("error"); e != o.end()) {
    const auto text = e->is_string() ? e->get<std::string>() : e->dump();
    const bool password =
        text.find("password") != std::string::npos || text.find("密码") != std::string::npos;
    return core::make_error(password ? source::Errc::auth_rejected : source::Errc::link_expired,
                            text);
  }
  const auto h = o.find("hosipital"); // sic
  const auto series = o.find("series");
  const auto counts = o.find("series_dicom_number");
  if (h == o.end() || !h->is_string() || series == o.end() || !series->is_array()
      || counts == o.end() || !counts->is_object()) {
    return changed("study info without hosipital/series/series_dicom_number");
  }
  StudyInfo info;
  const auto text = h->get<std::string>();
  const auto sep = text.find(k_separator);
  if (sep == std::string::npos) {
    return changed("study info: hosipital without separator");
  }
  info.hospital_id = text.substr(0, sep);
  info.study = text.substr(sep + std::string(k_separator).size());
  long total = 0;
  for (const auto& s : *series) {
    if (!s.is_string()) {
      return changed("study info: series id is not text");
    }
    SeriesEntry e{s.get<std::string>(), number_of(*counts, s.get<std::string>().c_str(), 0)};
    // The counts come from a plain-HTTP server and size the work list
    // before any request is made: a huge one must not exhaust memory.
    if (e.count < 0 || e.count > k_max_series_instances) {
      return changed("study info: series " + e.id + " claims " + std::to_string(e.count)
                     + " instances (at most " + std::to_string(k_max_series_instances) + ")");
    }
    const bool junk = e.id.rfind("dfyfilm", 0) == 0;
    if (!junk) {
      total += e.count;
      if (total > k_max_study_instances) {
        return changed("study info: more than " + std::to_string(k_max_study_instances)
                       + " instances in the study");
      }
    }
    (junk ? info.junk : info.series).push_back(e);
  }
  return info;
}

std::string
tag_list()
{
  static const char* const k_tags[] = {
      "00100010", "00101001", "00100020", "00100030", "00100040", "00101010", "00080020",
      "00080030", "00180015", "00180050", "00180088", "00080080", "00181100", "00280030",
      "00080060", "00200032", "00200037", "00280030", "00280010", "00280011", "00080008",
      "00200013", "0008103E", "00181030", "00080070", "00200062", "00185101"};
  std::string out;
  for (const auto* t : k_tags) {
    out += (out.empty() ? "" : k_separator) + std::string("0x") + t;
  }
  return out;
}

std::string
save_request(const ShareParams& share)
{
  Json j;
  j["type"] = "saveC";
  j["hospital_id"] = share.hospital_id;
  j["study"] = share.study;
  j["password"] = share.password;
  return j.dump();
}

std::string
fetch_request(const StudyInfo& info, const std::string& series, long index_1based)
{
  Json j;
  j["hospital_id"] = info.hospital_id;
  j["study"] = info.study;
  j["tag"] = tag_list();
  j["type"] = "hangC";
  j["ww"] = "";
  j["wl"] = "";
  j["series"] = series;
  j["series_in"] = std::to_string(index_1based);
  return j.dump();
}

} // namespace szjudianyun
