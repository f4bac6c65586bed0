// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>
#include <dicom/reassemble.hpp>

#include <optional>
#include <string>
#include <vector>

// The Hinacom viewer's pages and JSON (platforms.md 3.1), parsed without
// any network access so the rules can be unit-tested.
namespace hinacom {

struct Image
{
  std::string study_id;
  std::string image_id;
};

struct DisplaySet
{
  std::string description;
  std::optional<long> series_number;
  std::vector<Image> images;
};

// ImageViewer/GetImageSet (3.1.3).
struct ImageSet
{
  std::string patient_name;
  std::string study_description;
  std::string study_date;
  std::string storage_node; // "" when null
  std::vector<DisplaySet> display_sets;
};

// The four variables of the StudyView page (3.1.2 L5), matched by name.
struct ViewerVars
{
  std::string study_id;
  std::string accession_number;
  std::string exam_uid;
  std::string cache_key;
};

// "/Study/ViewImage?studyId=<id>" in the report page (L2), or empty.
std::string find_view_image_link(const std::string& html);
// The target of `window.location.href = '...'` (L3), or empty.
std::string find_location_href(const std::string& html);
// The value of `var NAME = "..."` (L4, L5, cq12320 C3), or nullopt.
std::optional<std::string> find_js_var(const std::string& html, const std::string& name);
// `<input type="hidden" id="StudyId" ... value="..." />` (jdyfy), or empty.
std::string find_hidden_study_id(const std::string& html);

core::Result<ViewerVars> parse_viewer_vars(const std::string& html);
// "https://h:p/a/b/" for ".../a/b/ImageViewer/StudyView?..." (L5b).
core::Result<std::string> viewer_base(const std::string& final_url);
core::Result<ImageSet> parse_image_set(const std::string& json);
// GetImageDicomTags (3.1.5): [{"tag": "GGGG,EEEE", "value": "..."}]. An
// empty list means a pseudo image (not DICOM).
core::Result<std::vector<dicom::TextTag>> parse_tags(const std::string& json);

} // namespace hinacom
