// SPDX-License-Identifier: GPL-3.0-or-later
// Reading and writing a DICOMDIR's directory records (PS3.10 8.6, PS3.3 F.3).
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

// Write `out` (a DICOMDIR, General Purpose profile, PS3.11 6.2) listing the
// files `root`/<id> for each file ID ("DICOM/S0001/I0001": upper case, at
// most 8 characters per component, PS3.10 8.5). Compressed transfer
// syntaxes are allowed (the viewers that read CDs read them); attributes a
// record needs but a file lacks are invented as dcmgpdir +I does.
// Errors: dicom::Errc::malformed naming the file DCMTK refused.
core::Result<void> write_dicomdir(const std::filesystem::path& root,
                                  const std::vector<std::string>& file_ids,
                                  const std::filesystem::path& out);

} // namespace dicom
