// SPDX-License-Identifier: GPL-3.0-or-later
// (l) What DICOMweb reads from a stored file: dicom::read_frames (native
// slicing, fragment grouping by offset table, count or start markers, JPEG
// 2000 clean-up) and dicom::instance_json, on the input as a Part 10 file.
#include "fuzz_common.hpp"

#include <dicom/web_objects.hpp>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  const auto file = cf_fuzz::scratch() / "object.dcm";
  cf_fuzz::write_file(file, std::string_view(reinterpret_cast<const char*>(data), size));
  (void)dicom::read_frames(file, {});
  (void)dicom::read_frames(file, {2, 1});
  (void)dicom::instance_json(file, "/bulk", "GB18030");
  std::error_code ec;
  std::filesystem::remove(file, ec);
  return 0;
}
