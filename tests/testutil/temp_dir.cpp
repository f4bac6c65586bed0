// SPDX-License-Identifier: GPL-3.0-or-later
#include "temp_dir.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace testutil {

TempDir::TempDir()
{
  std::string tmpl = (std::filesystem::temp_directory_path() / "cloudfilm-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_path = tmpl;
}

TempDir::~TempDir()
{
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

} // namespace testutil
