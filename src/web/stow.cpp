// SPDX-License-Identifier: GPL-3.0-or-later
// STOW-RS (PS3.18 10.5): a multipart/related body of application/dicom
// parts, each stored through the one ingest path; the answer is the Store
// Instances Response Module (Annex I) as DICOM JSON.
#include "dicomweb.hpp"
#include "json.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>
#include <dicom/instance_info.hpp>
#include <http/multipart.hpp>
#include <store/errors.hpp>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace web::dicomweb {

namespace {

using nlohmann::json;

// The upload, mapped read-only (it may be larger than is wise to copy).
class Mapped
{
public:
  explicit Mapped(const std::filesystem::path& file)
  {
    m_fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st
    {
    };
    if (m_fd < 0 || ::fstat(m_fd, &st) != 0 || st.st_size == 0) {
      return;
    }
    m_size = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, m_fd, 0);
    if (p != MAP_FAILED) {
      m_data = static_cast<const char*>(p);
    }
  }
  ~Mapped()
  {
    if (m_data != nullptr) {
      ::munmap(const_cast<char*>(m_data), m_size);
    }
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  Mapped(const Mapped&) = delete;
  Mapped& operator=(const Mapped&) = delete;

  std::string_view view() const
  {
    return m_data ? std::string_view(m_data, m_size) : std::string_view();
  }

private:
  int m_fd = -1;
  const char* m_data = nullptr;
  std::size_t m_size = 0;
};

// The headers and body of one part.
std::pair<std::string, std::string_view>
split_part(std::string_view part)
{
  // split_multipart hands the part with its headers; they end at an empty line.
  auto end = part.find("\r\n\r\n");
  std::size_t skip = 4;
  if (end == std::string_view::npos) {
    end = part.find("\n\n");
    skip = 2;
  }
  if (end == std::string_view::npos) {
    return {std::string(), part};
  }
  return {core::to_lower_ascii(std::string(part.substr(0, end))), part.substr(end + skip)};
}

json
sop_item(const std::string& sop_class, const std::string& sop_instance)
{
  json item = json::object();
  item["00081150"] = json{{"vr", "UI"}, {"Value", {sop_class}}};
  item["00081155"] = json{{"vr", "UI"}, {"Value", {sop_instance}}};
  return item;
}

} // namespace

Response
store_instances(const Context& ctx, const Request& request, const std::string& study)
{
  const auto& type = request.header("content-type");
  const auto lower = core::to_lower_ascii(type);
  if (lower.rfind("multipart/related", 0) != 0
      || (lower.find("type=") != std::string::npos
          && lower.find("application/dicom") == std::string::npos)) {
    return error_response(415, "bad_request",
                          "send multipart/related; type=\"application/dicom\" (PS3.18 10.5)");
  }
  const auto boundary = http::boundary_of(type);
  if (boundary.empty() || request.body_file.empty()) {
    return error_response(400, "bad_request", "the multipart body has no boundary");
  }
  Mapped body(request.body_file);
  const auto split = http::split_multipart(body.view(), boundary);
  if (split.parts.empty()) {
    return error_response(400, "bad_request",
                          split.problem.empty() ? "no parts in the body" : split.problem);
  }
  json referenced = json::array();
  json failed = json::array();
  for (const auto part : split.parts) {
    const auto [headers, payload] = split_part(part);
    if (headers.find("content-type") != std::string::npos
        && headers.find("application/dicom") == std::string::npos) {
      failed.push_back(sop_item("", "")); // a part that is not an instance
      failed.back()["00081197"] = json{{"vr", "US"}, {"Value", {0xC000}}};
      continue;
    }
    const auto file = ctx.sink->spool_path();
    {
      std::ofstream out(file, std::ios::binary);
      out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
      if (!out) {
        std::error_code ec;
        std::filesystem::remove(file, ec);
        return error_response(507, "storage_full", "cannot write the upload to the spool");
      }
    }
    // Failure reasons: PS3.18 Table I.2-1 / PS3.4 B.2.3 (A900 does not match
    // the study, C000 cannot understand, A700 out of resources).
    int reason = 0;
    auto info = dicom::read_instance_info(file);
    std::string sop_class;
    std::string sop_instance;
    if (!info) {
      reason = 0xC000;
    } else {
      sop_class = info->sop_class_uid;
      sop_instance = info->sop_instance_uid;
      if (!study.empty() && info->study_instance_uid != study) {
        reason = 0xA900;
      }
    }
    if (reason != 0) {
      std::error_code ec;
      std::filesystem::remove(file, ec);
    } else {
      store::Origin origin{store::Origin::Kind::import, "stow-rs"};
      auto stored = ctx.sink->ingest(file, origin);
      if (!stored) {
        const auto& code = stored.error().code;
        reason = code == store::Errc::disk_full || code == store::Errc::limit_reached
                         || code == store::Errc::io_failed || code == store::Errc::index_failed
                     ? 0xA700
                     : 0xC000;
        CF_LOG(warn, "web", "STOW-RS: " << sop_instance << ": " << stored.error().message());
      }
    }
    if (reason != 0) {
      auto item = sop_item(sop_class, sop_instance);
      item["00081197"] = json{{"vr", "US"}, {"Value", {reason}}};
      failed.push_back(item);
      continue;
    }
    auto item = sop_item(sop_class, sop_instance);
    item["00081190"] = json{{"vr", "UR"},
                            {"Value",
                             {"/dicom-web/studies/" + info->study_instance_uid + "/series/"
                              + info->series_instance_uid + "/instances/" + sop_instance}}};
    referenced.push_back(item);
  }
  json out = json::object();
  if (!study.empty()) {
    out["00081190"] = json{{"vr", "UR"}, {"Value", {"/dicom-web/studies/" + study}}};
  }
  if (!failed.empty()) {
    out["00081198"] = json{{"vr", "SQ"}, {"Value", failed}};
  }
  if (!referenced.empty()) {
    out["00081199"] = json{{"vr", "SQ"}, {"Value", referenced}};
  }
  CF_LOG(info, "web",
         "STOW-RS: " << referenced.size() << " stored, " << failed.size() << " failed");
  Response r;
  // PS3.18 Table 10.5.3-1: 200 all stored, 202 some failed, 409 none stored.
  r.status = failed.empty() ? 200 : referenced.empty() ? 409 : 202;
  r.body = dump(out);
  r.content_type = "application/dicom+json";
  return r;
}

} // namespace web::dicomweb
