// SPDX-License-Identifier: GPL-3.0-or-later
// (i) The ingest header reader: dicom::read_instance_info on the input as a
// file, with and without a required meta header, and the Part 10 helpers
// import uses on the same bytes.
#include "fuzz_common.hpp"

#include <dicom/part10.hpp>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  cf_fuzz::init();
  const auto file = cf_fuzz::scratch() / "instance.dcm";
  cf_fuzz::write_file(file, std::string_view(reinterpret_cast<const char*>(data), size));
  dicom::ReadOptions strict;
  (void)dicom::read_instance_info(file, strict);
  dicom::ReadOptions lenient;
  lenient.require_meta = false;
  (void)dicom::read_instance_info(file, lenient);
  (void)dicom::has_part10_magic(file);
  (void)dicom::is_dicomdir(file);
  std::error_code ec;
  std::filesystem::remove(file, ec);
  return 0;
}
