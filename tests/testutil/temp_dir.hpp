// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <filesystem>

namespace testutil {

// A fresh folder under the system temp dir, removed with its content.
class TempDir
{
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

} // namespace testutil
