// SPDX-License-Identifier: GPL-3.0-or-later
// Local import hardening: zip bombs (S7), zip entry names that do not
// convert (S9), and the whole-file writer's disk-full report (S21).
#include "testutil/dicom_factory.hpp"
#include "testutil/temp_dir.hpp"

#include <core/fs.hpp>
#include <media/import.hpp>
#include <source/whole_file.hpp>
#include <store/errors.hpp>
#include <store/store.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

namespace {

namespace fs = std::filesystem;

std::unique_ptr<store::Store>
open_store(const fs::path& root)
{
  store::Options options;
  options.root = root;
  options.sync = false;
  auto st = store::Store::open(options);
  REQUIRE_MESSAGE(st, st.error().message());
  return std::move(*st);
}

// Run a python3 snippet (zipfile is in the standard library).
void
python(const fs::path& dir, const std::string& code)
{
  const auto script = dir / "make.py";
  std::ofstream(script) << code;
  const auto cmd = "python3 " + script.string();
  REQUIRE(std::system(cmd.c_str()) == 0);
}

bool
has_failure(const media::ImportSummary& s, const std::string& a, const std::string& b)
{
  for (const auto& f : s.failures) {
    if (f.find(a) != std::string::npos && f.find(b) != std::string::npos) {
      return true;
    }
  }
  return false;
}

} // namespace

TEST_SUITE("media::import")
{
  TEST_CASE("a zip entry that inflates past the budget is refused, the others imported")
  {
    testutil::TempDir dir;
    auto st = open_store(dir.path() / "store");
    const auto dcm =
        testutil::write_instance(dir.path() / "a.dcm", testutil::Uids{"1.2", "1.2.3", "1.2.3.4"});
    const auto zip = dir.path() / "bomb.zip";
    python(dir.path(), "import zipfile\n"
                       "with zipfile.ZipFile('"
                           + zip.string()
                           + "', 'w', zipfile.ZIP_DEFLATED) as z:\n"
                             "    z.writestr('bomb.bin', b'\\0' * (3 << 20))\n"
                             "    z.write('"
                           + dcm.string() + "', 'ok.dcm')\n");
    media::ImportOptions options;
    options.max_entry_bytes = 1 << 20;
    const auto s = media::import_paths({zip}, *st, {}, options);
    CHECK(s.imported == 1);
    CHECK(s.failed == 1);
    CHECK_MESSAGE(has_failure(s, "bomb.zip:bomb.bin", "inflates past 1048576"), s.failures.front());
    // Nothing left in the spool.
    long spooled = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir.path() / "store" / "spool")) {
      spooled += e.is_regular_file() && e.path().filename() != ".lock";
    }
    CHECK(spooled == 0);
  }

  TEST_CASE("the total budget of a zip stops its extraction")
  {
    testutil::TempDir dir;
    auto st = open_store(dir.path() / "store");
    const auto zip = dir.path() / "many.zip";
    python(dir.path(), "import zipfile\n"
                       "with zipfile.ZipFile('"
                           + zip.string()
                           + "', 'w', zipfile.ZIP_DEFLATED) as z:\n"
                             "    for i in range(10):\n"
                             "        z.writestr('part%d.bin' % i, b'\\0' * (300 << 10))\n");
    media::ImportOptions options;
    options.max_zip_bytes = 1 << 20;
    const auto s = media::import_paths({zip}, *st, {}, options);
    CHECK(s.failed == 1);
    CHECK(s.skipped == 3); // not DICOM
    CHECK(has_failure(s, "many.zip:part3.bin", "rest of the zip skipped"));
  }

  TEST_CASE("a reserve of free space stops extraction")
  {
    testutil::TempDir dir;
    auto st = open_store(dir.path() / "store");
    const auto zip = dir.path() / "z.zip";
    python(dir.path(), "import zipfile\n"
                       "with zipfile.ZipFile('"
                           + zip.string()
                           + "', 'w', zipfile.ZIP_DEFLATED) as z:\n"
                             "    z.writestr('a.bin', b'\\0' * 1000)\n");
    media::ImportOptions options;
    options.min_free_bytes = UINT64_MAX;
    const auto s = media::import_paths({zip}, *st, {}, options);
    CHECK(s.failed == 1);
    CHECK(has_failure(s, "z.zip:a.bin", "free on the store's file system"));
  }

  TEST_CASE("zip entries with UTF-8 and GBK names are all imported")
  {
    testutil::TempDir dir;
    auto st = open_store(dir.path() / "store");
    for (int i = 0; i < 3; ++i) {
      testutil::write_instance(dir.path() / ("u" + std::to_string(i) + ".dcm"),
                               testutil::Uids{"1.2", "1.2.3", "1.2.3.10." + std::to_string(i)});
      testutil::write_instance(dir.path() / ("g" + std::to_string(i) + ".dcm"),
                               testutil::Uids{"1.2", "1.2.3", "1.2.3.20." + std::to_string(i)});
    }
    const auto d = dir.path().string();
    python(dir.path(),
           "import zipfile\n"
           "d = '"
               + d
               + "'\n"
                 "with zipfile.ZipFile(d + '/utf8.zip', 'w') as z:\n"
                 "    for i in range(3):\n"
                 "        z.write('%s/u%d.dcm' % (d, i), '王小东/序列%d/图像.dcm' % i)\n"
                 // No UTF-8 flag (bit 11): the bytes are GBK, as Windows zip tools write
                 // them. zipfile would set the flag for non-ASCII, so write ASCII names
                 // of the same length and patch the bytes in.
                 "with zipfile.ZipFile(d + '/gbk.zip', 'w') as z:\n"
                 "    for i in range(3):\n"
                 "        z.writestr('XXXX/YYYY%d.dcm' % i, open('%s/g%d.dcm' % (d, i), "
                 "'rb').read())\n"
                 "data = open(d + '/gbk.zip', 'rb').read()\n"
                 "for i in range(3):\n"
                 "    gbk = ('\\u68c0\\u67e5/\\u56fe\\u50cf%d.dcm' % i).encode('gbk')\n"
                 "    assert len(gbk) == len('XXXX/YYYY0.dcm')\n"
                 "    data = data.replace(('XXXX/YYYY%d.dcm' % i).encode(), gbk)\n"
                 "open(d + '/gbk.zip', 'wb').write(data)\n");
    const auto s = media::import_paths({dir.path() / "utf8.zip", dir.path() / "gbk.zip"}, *st);
    CHECK_MESSAGE(s.failed == 0, (s.failures.empty() ? "" : s.failures.front()));
    CHECK(s.imported == 6);
  }

  TEST_CASE("whole-file downloads report a full disk as disk_full")
  {
    auto r = source::write_file("/dev/full", std::string(100000, 'x'));
    REQUIRE_FALSE(r);
    CHECK(core::fs::is_disk_full(r.error().code));

    testutil::TempDir dir;
    const auto file = dir.path() / "f.part";
    REQUIRE(source::write_file(file, "abc"));
    CHECK(fs::file_size(file) == 3);
  }
}
