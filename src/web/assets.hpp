// SPDX-License-Identifier: GPL-3.0-or-later
// The page's files (src/web/ui/), compiled into the binary by
// cmake/EmbedAssets.cmake.
#pragma once

#include <cstddef>
#include <string>

namespace web {

struct Asset
{
  const char* name; // relative to /ui/, e.g. "app.js"
  const unsigned char* data;
  std::size_t size;
  const char* content_type;
};

// nullptr if there is no such file.
const Asset* find_asset(const std::string& name);

} // namespace web
