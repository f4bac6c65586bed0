// SPDX-License-Identifier: GPL-3.0-or-later
#include "manifest.hpp"

#include <core/crypto.hpp>
#include <core/strings.hpp>
#include <source/json_fields.hpp>
#include <source/source.hpp>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

namespace mtywcloud {

using source::text_of;

namespace {

using source::Errc;

} // namespace

std::string
form_escape(const std::string& text)
{
  static const char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '_'
        || b == '.' || b == '-' || b == '~') {
      out += c;
    } else if (b == ' ') {
      out += '+';
    } else {
      out += '%';
      out += k_hex[b >> 4];
      out += k_hex[b & 0x0F];
    }
  }
  return out;
}

std::string
query_plaintext(const std::string& dicom_dir_path, const std::string& organization_id)
{
  return "DicomDirPath=" + form_escape(dicom_dir_path) + "&OrganizationID=" + organization_id;
}

std::string
encrypt_hex(const std::string& plain, const std::string& key, const std::string& iv)
{
  auto out = core::aes(true, plain, key, iv, core::AesMode::cbc);
  if (!out) {
    throw std::invalid_argument("AES-CBC: bad key or IV size");
  }
  return core::to_hex(reinterpret_cast<const unsigned char*>(out->data()), out->size());
}

std::optional<std::string>
decrypt_hex(const std::string& hex, const std::string& key, const std::string& iv)
{
  if (hex.empty() || hex.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const auto digit = [](char c) -> int {
      if (c >= '0' && c <= '9') {
        return c - '0';
      }
      if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
      }
      if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
      }
      return -1;
    };
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    bytes += static_cast<char>(hi * 16 + lo);
  }
  return core::aes(false, bytes, key, iv, core::AesMode::cbc);
}

core::Result<Study>
parse_study_info(const std::string& json)
{
  try {
    const auto j = nlohmann::json::parse(json);
    if (!j.value("Success", false)) {
      const auto message = text_of(j, "Message");
      auto lower = message;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      const bool crypto = lower.find("decrypt") != std::string::npos
                          || lower.find("padding") != std::string::npos
                          || lower.find("hex") != std::string::npos;
      return core::make_error(
          crypto ? Errc::upstream_changed : Errc::link_expired,
          "mtywcloud: " + (message.empty() ? std::string("Success false") : message)
              + (crypto ? " (the query key may have changed: options key/iv)" : ""));
    }
    const auto& data = j.at("Data");
    if (!data.is_array() || data.empty()) {
      return core::make_error(Errc::link_expired, "mtywcloud: no study in the answer");
    }
    const auto& s = data.at(0);
    Study out;
    out.patient = text_of(s, "PatientName");
    out.exam = text_of(s, "ModalitiesInStudy");
    out.datetime = text_of(s, "StudyDateTime");
    for (const auto& se : s.at("SeriesList")) {
      Series series;
      series.description = text_of(se, "SeriesDescription");
      if (series.description.empty()) {
        series.description = "定位像";
      }
      if (auto n = se.find("SeriesNumber"); n != se.end() && n->is_number_integer()) {
        series.number = n->get<long>();
      } else if (n != se.end() && n->is_string() && !n->get<std::string>().empty()) {
        series.number = std::stol(n->get<std::string>());
      }
      for (const auto& i : se.at("ImageList")) {
        series.images.push_back({text_of(i, "SOPInstanceUID"), text_of(i, "SeriesInstanceUID"),
                                 text_of(i, "StudyInstanceUID"), text_of(i, "ImagePath")});
      }
      out.series.push_back(std::move(series));
    }
    return out;
  } catch (const std::exception& e) {
    return core::make_error(Errc::upstream_changed, std::string("Study/Info: ") + e.what());
  }
}

} // namespace mtywcloud
