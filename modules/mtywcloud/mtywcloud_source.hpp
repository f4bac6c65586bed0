// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <source/source.hpp>

#include <memory>
#include <string>

// mtywcloud (ss.mtywcloud.com, ICCWebClient): AES-256-CBC encrypted study
// query, whole Part 10 files (platforms.md 3.8).
namespace mtywcloud {

bool accepts(const std::string& url);

// Options: "key" and "iv" (AES-CBC, defaults the site's known values),
// "base" (API origin, default https://ss.mtywcloud.com), "threads" (files
// fetched at once, default 4).
std::unique_ptr<source::Source> make(const source::Options& options);

} // namespace mtywcloud
