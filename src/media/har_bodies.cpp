// SPDX-License-Identifier: GPL-3.0-or-later
#include "har_bodies.hpp"

#include <core/strings.hpp>
#include <http/url.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>

namespace media::har {

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

static bool
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
  if (segments.size() < 5
      || (!core::iequals_ascii(segments[0], "j2k") && !core::iequals_ascii(segments[0], "dicom"))) {
    return std::nullopt;
  }
  return PixelRequest{http::url_decode(segments[1], false) + "/"
                          + http::url_decode(segments[2], false),
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

} // namespace media::har
