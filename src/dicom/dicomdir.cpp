// SPDX-License-Identifier: GPL-3.0-or-later
#include "dicomdir.hpp"

#include "errors.hpp"

#include <core/strings.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcddirif.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>

namespace dicom {

core::Result<std::vector<std::vector<std::string>>>
referenced_file_ids(const std::filesystem::path& dicomdir)
{
  DcmFileFormat ff;
  try { // DCMTK 3.6.7 can throw on malformed directory records
    if (ff.loadFile(dicomdir.c_str()).bad()) {
      return core::make_error(Errc::malformed, "DICOMDIR does not parse");
    }
  } catch (const std::exception& e) {
    return core::make_error(Errc::malformed, std::string("DICOMDIR does not parse: ") + e.what());
  }
  DcmSequenceOfItems* records = nullptr;
  if (ff.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, records).bad()
      || records == nullptr) {
    return core::make_error(Errc::malformed, "DICOMDIR has no directory records");
  }
  std::vector<std::vector<std::string>> out;
  for (unsigned long i = 0; i < records->card(); ++i) {
    OFString file_id;
    if (records->getItem(i)->findAndGetOFStringArray(DCM_ReferencedFileID, file_id).bad()
        || file_id.empty()) {
      continue;
    }
    std::vector<std::string> parts;
    for (auto& p : core::split(file_id.c_str(), '\\')) {
      parts.emplace_back(core::trim(p));
    }
    out.push_back(std::move(parts));
  }
  return out;
}

core::Result<void>
write_dicomdir(const std::filesystem::path& root, const std::vector<std::string>& file_ids,
               const std::filesystem::path& out)
{
  try {
    DicomDirInterface dir;
    dir.enableInventMode(OFTrue);
    dir.disableTransferSyntaxCheck(OFTrue);
    dir.disableBackupMode(OFTrue);
    dir.disableEncodingCheck(OFTrue);
    if (dir.createNewDicomDir(DicomDirInterface::AP_GeneralPurpose, out.c_str(), "CLOUDFILM")
            .bad()) {
      return core::make_error(Errc::malformed, "cannot create " + out.string());
    }
    for (const auto& id : file_ids) {
      const auto cond = dir.addDicomFile(id.c_str(), root.c_str());
      if (cond.bad()) {
        return core::make_error(Errc::malformed,
                                "DICOMDIR: " + id + " not accepted: " + cond.text());
      }
    }
    const auto cond = dir.writeDicomDir();
    if (cond.bad()) {
      return core::make_error(Errc::malformed, std::string("DICOMDIR: ") + cond.text());
    }
  } catch (const std::exception& e) {
    return core::make_error(Errc::malformed, std::string("DICOMDIR: ") + e.what());
  }
  return {};
}

} // namespace dicom
