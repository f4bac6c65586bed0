// SPDX-License-Identifier: GPL-3.0-or-later
// What a HAR response body is: the request URL's parts, DICOM recognised by
// content, and the Hinacom viewer's tag lists and pixel requests
// (platforms.md 3.1.5) that import_har pairs and rebuilds.
#pragma once

#include <dicom/reassemble.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace media::har {

struct Url
{
  std::string origin_and_path; // for messages: no query, which may hold tokens
  std::string path;            // percent-encoded, as sent
  std::vector<std::pair<std::string, std::string>> query; // decoded
};

Url parse_url(std::string_view url);
// The decoded value of query parameter `name` (ASCII case ignored), or "".
std::string query_value(const Url& url, std::string_view name);

enum class Shape {
  none,
  part10,     // preamble + "DICM" (PS3.10 7.1)
  dicm_first, // "DICM" + meta header, preamble cut off
  meta_first, // meta header only, no preamble, no "DICM"
  dataset,    // a bare data set (group 0008 first), no meta header
};

Shape classify(std::string_view bytes);

// "studyId/imageId" of a GetImageDicomTags request, or nothing.
std::optional<std::string> hinacom_tags_key(const Url& url);

struct PixelRequest
{
  std::string key;   // studyId/imageId
  std::string frame; // the segment after imageId
  std::string level; // the last segment
};

std::optional<PixelRequest> hinacom_pixel_request(const Url& url);

// The GetImageDicomTags array: [{"tag": "GGGG,EEEE", "name", "value"}], or
// nothing when it is not one.
std::optional<std::vector<dicom::TextTag>> parse_tag_list(std::string_view text);

} // namespace media::har
