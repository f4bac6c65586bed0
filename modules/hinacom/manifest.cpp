// SPDX-License-Identifier: GPL-3.0-or-later
#include "manifest.hpp"

#include <http/url.hpp>
#include <source/source.hpp>

#include <nlohmann/json.hpp>

#include <cctype>

namespace hinacom {

namespace {

core::Error
changed(const std::string& what)
{
  return core::make_error(source::Errc::upstream_changed, what);
}

// The text between `open` (after `prefix`) and the next `close`.
std::string
between(const std::string& text, std::size_t from, char close)
{
  const auto end = text.find(close, from);
  return end == std::string::npos ? std::string() : text.substr(from, end - from);
}

std::string
text_of(const nlohmann::json& j)
{
  if (j.is_string()) {
    return j.get<std::string>();
  }
  if (j.is_null()) {
    return {};
  }
  return j.dump();
}

} // namespace

std::string
find_view_image_link(const std::string& html)
{
  static const std::string k_prefix = "/Study/ViewImage?studyId=";
  const auto at = html.find(k_prefix);
  if (at == std::string::npos) {
    return {};
  }
  auto end = at + k_prefix.size();
  while (end < html.size()
         && (std::isalnum(static_cast<unsigned char>(html[end])) || html[end] == '_'
             || html[end] == '-')) {
    ++end;
  }
  if (end == at + k_prefix.size()) {
    return {};
  }
  return html.substr(at, end - at);
}

std::string
find_location_href(const std::string& html)
{
  for (const char* pattern : {"window.location.href = '", "window.location.href='",
                              "window.location.href = \"", "window.location.href=\""}) {
    const auto at = html.find(pattern);
    if (at != std::string::npos) {
      const std::string p(pattern);
      return between(html, at + p.size(), p.back());
    }
  }
  return {};
}

std::optional<std::string>
find_js_var(const std::string& html, const std::string& name)
{
  std::size_t at = 0;
  while ((at = html.find("var " + name, at)) != std::string::npos) {
    auto pos = at + 4 + name.size();
    // Not a longer name ("var STUDY_ID_X").
    if (pos < html.size()
        && (std::isalnum(static_cast<unsigned char>(html[pos])) || html[pos] == '_')) {
      at = pos;
      continue;
    }
    while (pos < html.size() && html[pos] == ' ') {
      ++pos;
    }
    if (pos >= html.size() || html[pos] != '=') {
      at = pos;
      continue;
    }
    ++pos;
    while (pos < html.size() && html[pos] == ' ') {
      ++pos;
    }
    if (pos < html.size() && (html[pos] == '"' || html[pos] == '\'')) {
      return between(html, pos + 1, html[pos]);
    }
    at = pos;
  }
  return std::nullopt;
}

std::string
find_hidden_study_id(const std::string& html)
{
  const auto at = html.find("id=\"StudyId\"");
  if (at == std::string::npos) {
    return {};
  }
  const auto tag_end = html.find('>', at);
  const auto value = html.find("value=\"", at);
  if (value == std::string::npos || (tag_end != std::string::npos && value > tag_end)) {
    return {};
  }
  return between(html, value + 7, '"');
}

core::Result<ViewerVars>
parse_viewer_vars(const std::string& html)
{
  ViewerVars v;
  const std::pair<const char*, std::string*> vars[] = {{"STUDY_ID", &v.study_id},
                                                       {"ACCESSION_NUMBER", &v.accession_number},
                                                       {"STUDY_EXAM_UID", &v.exam_uid},
                                                       {"LOAD_IMAGE_CACHE_KEY", &v.cache_key}};
  for (const auto& [name, out] : vars) {
    auto value = find_js_var(html, name);
    if (!value) {
      return changed(std::string("viewer page has no ") + name);
    }
    *out = *value;
  }
  if (v.study_id.empty()) {
    return changed("viewer page has an empty STUDY_ID");
  }
  return v;
}

core::Result<std::string>
viewer_base(const std::string& final_url)
{
  const auto at = final_url.find("/ImageViewer/StudyView");
  if (at == std::string::npos) {
    return changed("viewer URL has no /ImageViewer/StudyView: " + http::redact_url(final_url));
  }
  return final_url.substr(0, at + 1);
}

core::Result<ImageSet>
parse_image_set(const std::string& text)
{
  try {
    const auto j = nlohmann::json::parse(text);
    ImageSet set;
    set.patient_name = text_of(j.value("patientName", nlohmann::json()));
    set.study_description = text_of(j.value("studyDescription", nlohmann::json()));
    set.study_date = text_of(j.value("studyDate", nlohmann::json()));
    set.storage_node = text_of(j.value("storageNode", nlohmann::json()));
    for (const auto& ds : j.at("displaySets")) {
      DisplaySet d;
      d.description = text_of(ds.value("description", nlohmann::json()));
      const auto number = ds.value("seriesNumber", nlohmann::json());
      if (number.is_number_integer()) {
        d.series_number = number.get<long>();
      } else if (number.is_string() && !number.get<std::string>().empty()) {
        try {
          d.series_number = std::stol(number.get<std::string>());
        } catch (const std::exception&) {
        }
      }
      for (const auto& img : ds.at("images")) {
        d.images.push_back({text_of(img.at("studyId")), text_of(img.at("imageId"))});
      }
      set.display_sets.push_back(std::move(d));
    }
    return set;
  } catch (const std::exception& e) {
    return changed(std::string("GetImageSet: ") + e.what());
  }
}

core::Result<std::vector<dicom::TextTag>>
parse_tags(const std::string& text)
{
  try {
    const auto j = nlohmann::json::parse(text);
    std::vector<dicom::TextTag> tags;
    for (const auto& item : j) {
      const auto tag = item.at("tag").get<std::string>();
      if (tag.size() != 9 || tag[4] != ',') {
        return changed("GetImageDicomTags: tag '" + tag + "'");
      }
      dicom::TextTag t;
      t.group = static_cast<std::uint16_t>(std::stoul(tag.substr(0, 4), nullptr, 16));
      t.element = static_cast<std::uint16_t>(std::stoul(tag.substr(5, 4), nullptr, 16));
      t.value = text_of(item.value("value", nlohmann::json()));
      tags.push_back(std::move(t));
    }
    return tags;
  } catch (const std::exception& e) {
    return changed(std::string("GetImageDicomTags: ") + e.what());
  }
}

} // namespace hinacom
