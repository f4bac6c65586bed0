// SPDX-License-Identifier: GPL-3.0-or-later
#include "testutil/dicom_factory.hpp"
#include "testutil/temp_dir.hpp"

#include <dicom/charset.hpp>
#include <dicom/errors.hpp>
#include <dicom/instance_info.hpp>
#include <dicom/person_name.hpp>

#include <doctest/doctest.h>

namespace {

const char* const k_wang_utf8 = "Wang^XiaoDong=\xE7\x8E\x8B^\xE5\xB0\x8F\xE4\xB8\x9C"; // 王^小东
// 王^小东 in GB18030
const char* const k_wang_gb18030 = "Wang^XiaoDong=\xCD\xF5^\xD0\xA1\xB6\xAB";

dicom::InstanceInfo
read(const std::filesystem::path& file)
{
  auto info = dicom::read_instance_info(file);
  REQUIRE_MESSAGE(info, info.error().message());
  return *info;
}

} // namespace

TEST_SUITE("dicom::charset")
{
  TEST_CASE("non-standard Chinese terms normalise to GB18030")
  {
    bool changed = false;
    CHECK(dicom::normalise_charset("GB2312", changed) == "GB18030");
    CHECK(changed);
    CHECK(dicom::normalise_charset("gbk ", changed) == "GB18030");
    CHECK(dicom::normalise_charset("ISO_IR 58", changed) == "GB18030");
    CHECK(dicom::normalise_charset("GB18030\\ISO_IR 192", changed) == "GB18030");
    CHECK(dicom::normalise_charset("ISO_IR 100", changed) == "ISO_IR 100");
    CHECK_FALSE(changed);
    CHECK(dicom::normalise_charset("\\ISO 2022 IR 149", changed) == "\\ISO 2022 IR 149");
  }

  TEST_CASE("person name groups are split and upper-cased for matching")
  {
    const auto keys = dicom::person_name_keys(k_wang_utf8);
    CHECK(keys.alphabetic == "WANG^XIAODONG");
    CHECK(keys.ideographic == "\xE7\x8E\x8B^\xE5\xB0\x8F\xE4\xB8\x9C");
    CHECK(keys.phonetic.empty());
    CHECK(dicom::person_name_keys("Doe^John^^^").alphabetic == "DOE^JOHN");
  }

  TEST_CASE("pydicom's chrX1 (ISO_IR 192) and chrX2 (GB18030) decode to the same UTF-8")
  {
    const auto data = testutil::pydicom_data();
    if (data.empty()) {
      MESSAGE("python3-pydicom not installed; skipped");
      return;
    }
    const auto x1 = read(data / "charset_files/chrX1.dcm");
    // Both files carry an empty phonetic group: the trailing '=' is data.
    CHECK(x1.patient_name == "Wang^XiaoDong=\xE7\x8E\x8B^\xE5\xB0\x8F\xE6\x9D\xB1="); // 王^小東
    const auto x2 = read(data / "charset_files/chrX2.dcm");
    CHECK(x2.patient_name == std::string(k_wang_utf8) + "=");
    CHECK(x2.specific_character_set == "GB18030");
    CHECK(x2.charset_note.empty());
    // Korean in ISO 2022 with code extensions.
    const auto i2 = read(data / "charset_files/chrI2.dcm");
    CHECK(i2.patient_name.find("\xED\x99\x8D") != std::string::npos); // 홍
  }

  TEST_CASE("GB18030 text whose trail byte is 0x5C is not split as a backslash")
  {
    testutil::TempDir dir;
    testutil::InstanceSpec spec;
    spec.uids = {"1.2.3", "1.2.3.4", "1.2.3.4.5"};
    spec.charset = "GB18030";
    spec.patient_name = "\xD5\x5C^\xC3\xF7"; // 誠^明: 誠 is D5 5C
    const auto file = testutil::write_instance(dir.path() / "a.dcm", spec);
    const auto info = read(file);
    CHECK(info.patient_name == "\xE8\xAA\xA0^\xE6\x98\x8E");
  }

  TEST_CASE("undeclared non-UTF-8 text falls back to GB18030; mislabels are noted")
  {
    testutil::TempDir dir;
    testutil::InstanceSpec spec;
    spec.uids = {"1.2.3", "1.2.3.4", "1.2.3.4.6"};
    spec.patient_name = k_wang_gb18030; // no SpecificCharacterSet at all
    auto info = read(testutil::write_instance(dir.path() / "b.dcm", spec));
    CHECK(info.patient_name == k_wang_utf8);
    CHECK_FALSE(info.charset_note.empty());

    spec.charset = "GB2312"; // not a DICOM defined term, common in China
    info = read(testutil::write_instance(dir.path() / "c.dcm", spec));
    CHECK(info.patient_name == k_wang_utf8);

    spec.charset = ""; // undeclared but UTF-8: kept as is
    spec.patient_name = k_wang_utf8;
    info = read(testutil::write_instance(dir.path() / "d.dcm", spec));
    CHECK(info.patient_name == k_wang_utf8);
  }

  TEST_CASE("missing UIDs and non-DICOM files are told apart")
  {
    testutil::TempDir dir;
    testutil::InstanceSpec spec;
    spec.uids = {"1.2.3", "1.2.3.4", "1.2.3.4.7"};
    spec.with_sop_class = false;
    auto r = dicom::read_instance_info(testutil::write_instance(dir.path() / "e.dcm", spec));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == dicom::Errc::missing_uid);

    const auto junk = dir.path() / "junk.txt";
    std::FILE* f = std::fopen(junk.c_str(), "w");
    std::fputs("<html>not dicom</html>", f);
    std::fclose(f);
    r = dicom::read_instance_info(junk);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == dicom::Errc::not_dicom);
  }
}
