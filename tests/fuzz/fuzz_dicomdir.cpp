// SPDX-License-Identifier: GPL-3.0-or-later
// (g) DICOMDIR resolution (media::import_paths on a DICOMDIR): the input is
// written as media/DICOMDIR next to media/IMAGES/IM1; a second instance,
// OUTSIDE/SECRET, sits beside the media folder. A Referenced File ID must
// never resolve outside the folder of its DICOMDIR (PS3.10 8.5: File IDs are
// relative to the directory of the DICOMDIR), so importing SECRET is a bug.
#include "fuzz_common.hpp"

#include <media/import.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

namespace {

const char* const k_secret_uid = "1.2.3.999.999";

void
write_instance(const std::filesystem::path& file, const char* sop_uid)
{
  std::filesystem::create_directories(file.parent_path());
  DcmFileFormat ff;
  DcmDataset& ds = *ff.getDataset();
  ds.putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  ds.putAndInsertString(DCM_SOPInstanceUID, sop_uid);
  ds.putAndInsertString(DCM_StudyInstanceUID, "1.2.3.1");
  ds.putAndInsertString(DCM_SeriesInstanceUID, "1.2.3.1.1");
  ds.putAndInsertString(DCM_PatientID, "P1");
  ds.putAndInsertString(DCM_Modality, "OT");
  if (ff.saveFile(file.c_str(), EXS_LittleEndianExplicit).bad()) {
    std::abort();
  }
}

void
on_ingest(const std::filesystem::path& file)
{
  auto info = dicom::read_instance_info(file);
  if (info && info->sop_instance_uid == k_secret_uid) {
    std::fprintf(stderr, "DICOMDIR resolved a file outside its folder\n");
    std::abort();
  }
}

const std::filesystem::path&
media_dir()
{
  static const std::filesystem::path dir = [] {
    const auto base = cf_fuzz::scratch() / "dd";
    write_instance(base / "media" / "IMAGES" / "IM1", "1.2.3.1.1.1");
    write_instance(base / "OUTSIDE" / "SECRET", k_secret_uid);
    return base / "media";
  }();
  return dir;
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  static cf_fuzz::ReadingSink sink;
  sink.on_ingest = on_ingest;
  const auto dicomdir = media_dir() / "DICOMDIR";
  cf_fuzz::write_file(dicomdir, std::string_view(reinterpret_cast<const char*>(data), size));
  (void)media::import_paths({dicomdir}, sink);
  return 0;
}
