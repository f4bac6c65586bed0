// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <source/source.hpp>

#include <memory>
#include <string>

// zscloud (zscloud.zs-hospital.sh.cn): AES-encrypted study info, Bearer
// token, VNA image service serving whole Part 10 files (platforms.md 3.5).
namespace zscloud {

bool accepts(const std::string& url);

// Options: "keys" (comma-separated config keys tried in order, default the
// current and the former key), "key" (one more key, tried first),
// "threads" (files fetched at once, default 4).
std::unique_ptr<source::Source> make(const source::Options& options);

} // namespace zscloud
