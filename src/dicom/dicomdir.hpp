// SPDX-License-Identifier: GPL-3.0-or-later
// Reading a DICOMDIR's directory records (PS3.10 8.6, PS3.3 F.3).
#pragma once

#include <core/result.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace dicom {

// The Referenced File IDs (0004,1500) of every directory record, each split
// at '\' into its components (PS3.10 8.5), trimmed, in record order; records
// without one are left out. The components are as written: the caller checks
// them before touching the file system. Errors: dicom::Errc::malformed
// ("DICOMDIR does not parse", "DICOMDIR has no directory records").
core::Result<std::vector<std::vector<std::string>>>
referenced_file_ids(const std::filesystem::path& dicomdir);

} // namespace dicom
