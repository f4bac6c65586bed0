// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <source/source.hpp>

#include <memory>

// DICOMweb servers (PS3.18): QIDO-RS to find studies, series and instances,
// WADO-RS to retrieve each instance as application/dicom. Links:
//   dicomweb+http(s)://host[:port]/path          with --study UID
//   dicomweb+http(s)://host/path?PatientID=X...  a QIDO-RS study query
// Auth: user:password@ in the link (basic), or --password / option "token"
// (bearer).
namespace dicomweb {

bool accepts(const std::string& url);
std::unique_ptr<source::Source> make(const source::Options& options);

} // namespace dicomweb
