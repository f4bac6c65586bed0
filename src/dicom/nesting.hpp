// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <filesystem>

namespace dicom {

// Real data nests sequences a few levels deep (an SR content tree perhaps
// twenty); DCMTK parses them recursively, about a kilobyte of stack a level,
// so a crafted file of a few megabytes could nest deep enough to overflow
// any thread's stack.
constexpr std::size_t k_max_sequence_depth = 100;

// Walks the element headers of a Part 10 file or raw dataset (values are
// skipped, never read) and returns false if sequences nest deeper than
// `max_depth`. Files it cannot follow (deflated, truncated, garbage) pass:
// whether they parse is DCMTK's call, and a walk that stops early has not
// seen deep nesting. PS3.5 7.1 (element encoding), 7.5 (sequences and
// items), 6.2.2 (UN of undefined length holds an implicit VR sequence),
// A.4 (encapsulated pixel data fragments are not datasets).
bool nesting_within(const std::filesystem::path& file,
                    std::size_t max_depth = k_max_sequence_depth);

} // namespace dicom
