// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <source/source.hpp>

#include <memory>
#include <string>

// shdc (ylyyx.shdc.org.cn): MD5-signed JSON API and whole Part 10 files
// (platforms.md 3.4).
namespace shdc {

bool accepts(const std::string& url);

// Options: "key" (signing key, default 5fbcVzmBJNUsw53#), "referer" (sent
// with every file, default https://ylyyx.shdc.org.cn/), "threads" (files
// fetched at once, default 4). Throws std::invalid_argument on a bad number.
std::unique_ptr<source::Source> make(const source::Options& options);

} // namespace shdc
