// SPDX-License-Identifier: GPL-3.0-or-later
// How good a copy of an instance is, for picking the best of several (a HAR
// capture often holds the same instance twice, one of them cut short).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace dicom {

struct CopyQuality
{
  std::string sop_instance_uid;
  bool complete = false; // parses to the end, pixel data as long as announced
  std::uint64_t size = 0;
};

// Parse `file` without loading pixel data. nullopt (with `why`) when it has
// no SOP Instance UID; otherwise complete tells whether it parsed to its end
// with native pixel data as long as the Image Pixel attributes announce.
std::optional<CopyQuality> inspect_copy(const std::filesystem::path& file, std::string& why);

} // namespace dicom
