// SPDX-License-Identifier: GPL-3.0-or-later
#include "result.hpp"

namespace core {

std::string
Error::message() const
{
  if (detail.empty()) {
    return code.message();
  }
  if (!code) {
    return detail;
  }
  return detail + ": " + code.message();
}

} // namespace core
