// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/log.hpp>
#include <core/result.hpp>

// Process-wide DCMTK (dcmdata/oflog) set-up. Call once from main() before
// any thread exists (DCMTK's globals are not thread-safe to change later).
namespace dicom {

// Route DCMTK's OFLog into core::log under category "dcmtk" at `dcmtk_level`,
// keep received data bit-exact (no automatic input correction), and check the
// data dictionary is loaded (libdcmtk17 ships it as an external file).
core::Result<void> setup_dcmtk(core::log::Level dcmtk_level);

} // namespace dicom
