// SPDX-License-Identifier: GPL-3.0-or-later
// Linked into every harness: the capped nothrow allocations (fuzz_common.hpp).
#include "fuzz_common.hpp"

void*
operator new(std::size_t n, const std::nothrow_t&) noexcept
{
  if (n > cf_fuzz::k_nothrow_cap) {
    return nullptr;
  }
  try {
    return ::operator new(n);
  } catch (...) {
    return nullptr;
  }
}

void*
operator new[](std::size_t n, const std::nothrow_t&) noexcept
{
  if (n > cf_fuzz::k_nothrow_cap) {
    return nullptr;
  }
  try {
    return ::operator new[](n);
  } catch (...) {
    return nullptr;
  }
}
