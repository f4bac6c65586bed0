// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <source/source.hpp>

#include <memory>
#include <string>

// sugh 篮网云电子胶片 (platforms.md 3.10): share token echoed in a `token`
// header, DICOMweb-like file paths that must keep their trailing slash. Link:
//   https://work.sugh.net:8002/pc/auth-viewer?clinicalShareToken=<token>
// Options: threads (parallel downloads, default 4).
namespace sugh {

bool accepts(const std::string& url);
std::unique_ptr<source::Source> make(const source::Options& options);

} // namespace sugh
