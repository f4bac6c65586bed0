// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <source/source.hpp>

#include <memory>
#include <string>

// yzhcloud 医众数字影像 (platforms.md 3.9): a JSON study listing on the share
// link's origin, whole Part 10 files from a static CDN. Link:
//   https://m.yzhcloud.com/w_viewer_2/?study_instance_uid=<uid>&org_id=<id>
// Options: cdn_scheme (default "https", the scheme forced onto the listing's
// storage URL), threads (parallel downloads, default 4).
namespace yzhcloud {

bool accepts(const std::string& url);
std::unique_ptr<source::Source> make(const source::Options& options);

} // namespace yzhcloud
