// SPDX-License-Identifier: GPL-3.0-or-later
#include "testutil/dicom_factory.hpp"
#include "testutil/hinacom.hpp"
#include "testutil/temp_dir.hpp"

#include <core/base64.hpp>
#include <media/errors.hpp>
#include <media/har_import.hpp>
#include <source/source.hpp>
#include <store/store.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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

std::string
read_all(const fs::path& file)
{
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void
write_all(const fs::path& file, const std::string& data)
{
  std::ofstream out(file, std::ios::binary);
  out << data;
  REQUIRE(out.good());
}

fs::path
pydicom_file(const std::string& name)
{
  const auto data = testutil::pydicom_data();
  for (const char* folder : {"test_files", "charset_files"}) {
    if (!data.empty() && fs::exists(data / folder / name)) {
      return data / folder / name;
    }
  }
  return {};
}

std::string
base64(std::string_view data)
{
  return core::base64_encode(data);
}

// A browser that decoded binary bytes as ISO 8859-1 text (no base64).
std::string
as_latin1_text(std::string_view bytes)
{
  std::string out;
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xC0 | u >> 6));
      out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
    }
  }
  return out;
}

// One HAR 1.2 entry (only what the importer reads, plus typical noise).
json
entry(const std::string& url, const std::string& mime, const std::string& body, bool as_base64,
      int status = 200, const std::string& content_type = {})
{
  json headers = json::array({{{"name", "Cache-Control"}, {"value", "no-cache"}}});
  headers.push_back(
      {{"name", "Content-Type"}, {"value", content_type.empty() ? mime : content_type}});
  json content = {{"size", body.size()}, {"mimeType", mime}};
  content["text"] = as_base64 ? base64(body) : body;
  if (as_base64) {
    content["encoding"] = "base64";
  }
  return {{"startedDateTime", "2024-01-31T10:15:00.000Z"},
          {"time", 12.5},
          {"request",
           {{"method", "GET"},
            {"url", url},
            {"httpVersion", "HTTP/1.1"},
            {"headers", json::array({{{"name", "Accept"}, {"value", "*/*"}}})},
            {"queryString", json::array()},
            {"cookies", json::array()}}},
          {"response",
           {{"status", status},
            {"statusText", status == 200 ? "OK" : "Not Found"},
            {"headers", headers},
            {"cookies", json::array()},
            {"content", content},
            {"redirectURL", ""}}},
          {"cache", json::object()},
          {"timings", {{"wait", 10}, {"receive", 2}}}};
}

std::string
har_text(const std::vector<json>& entries)
{
  json har = {{"log",
               {{"version", "1.2"},
                {"creator", {{"name", "WebInspector"}, {"version", "537.36"}}},
                {"pages", json::array()},
                {"entries", entries}}}};
  return har.dump();
}

struct Instance
{
  fs::path file;
  std::string sop;
};

Instance
make_instance(const fs::path& dir, const std::string& sop)
{
  const auto file = dir / (sop + ".dcm");
  testutil::write_instance(
      file, testutil::Uids{"1.2.826.0.1.3680043.2.1", "1.2.826.0.1.3680043.2.1.1", sop});
  return {file, sop};
}

// The data set alone, no preamble or meta header.
std::string
dataset_bytes(const fs::path& file, const fs::path& scratch)
{
  DcmFileFormat ff;
  REQUIRE(ff.loadFile(file.c_str()).good());
  REQUIRE(ff.getDataset()->saveFile(scratch.c_str(), EXS_LittleEndianExplicit).good());
  return read_all(scratch);
}

// A data set whose every byte is ASCII, so a browser may store it as plain
// text without loss: no meta header (its group length is > 127), no pixels
// (the tag 7FE0 is not ASCII).
std::string
ascii_dataset(const std::string& sop, const fs::path& scratch)
{
  DcmFileFormat ff;
  DcmDataset& ds = *ff.getDataset();
  ds.putAndInsertString(DCM_SOPClassUID, UID_BasicTextSRStorage);
  ds.putAndInsertString(DCM_SOPInstanceUID, sop.c_str());
  ds.putAndInsertString(DCM_StudyInstanceUID, "1.2.3.7");
  ds.putAndInsertString(DCM_SeriesInstanceUID, "1.2.3.7.1");
  ds.putAndInsertString(DCM_Modality, "SR");
  ds.putAndInsertString(DCM_PatientID, "ASCII1");
  REQUIRE(ds.saveFile(scratch.c_str(), EXS_LittleEndianExplicit).good());
  const auto bytes = read_all(scratch);
  REQUIRE(std::all_of(bytes.begin(), bytes.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
  return bytes;
}

std::string
stored_bytes(store::Store& st, const std::string& sop)
{
  auto row = st.query().instance(sop);
  REQUIRE(row);
  REQUIRE_MESSAGE(row->has_value(), sop << " not stored");
  return read_all(st.root() / (*row)->path);
}

std::string
stored_transfer_syntax(store::Store& st, const std::string& sop)
{
  auto row = st.query().instance(sop);
  REQUIRE(row);
  REQUIRE_MESSAGE(row->has_value(), sop << " not stored");
  DcmFileFormat ff;
  REQUIRE(ff.loadFile((st.root() / (*row)->path).c_str()).good());
  OFString ts;
  ff.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts);
  return ts.c_str();
}

std::string
sop_of(const fs::path& file)
{
  DcmFileFormat ff;
  REQUIRE(ff.loadFile(file.c_str()).good());
  OFString uid;
  ff.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, uid);
  return uid.c_str();
}

std::string
joined(const std::vector<std::string>& notes)
{
  std::string all;
  for (const auto& n : notes) {
    all += n + "\n";
  }
  return all;
}

// Peak resident memory so far (kB), reset first if the kernel lets us.
long
status_kb(const char* field)
{
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      return std::stol(line.substr(std::strlen(field)));
    }
  }
  return -1;
}

bool
reset_peak()
{
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5"; // PROCFS: reset VmHWM to VmRSS
  clear.close();
  return clear.good();
}

// A big HAR written piece by piece, so the test itself stays small.
class HarStream
{
public:
  explicit HarStream(const fs::path& file) : m_out(file, std::ios::binary)
  {
    m_out << R"({"log":{"version":"1.2","creator":{"name":"test","version":"1"},"entries":[)";
  }

  // An entry whose body comes from `fill(chunk)` calls (each a multiple of
  // 3 bytes but the last), written as base64.
  template <typename Fill> void entry(const std::string& url, const std::string& mime, Fill fill)
  {
    m_out << (m_first ? "" : ",") << R"({"request":{"method":"GET","url":)" << json(url).dump()
          << R"(,"headers":[]},"response":{"status":200,"headers":[{"name":"Content-Type","value":)"
          << json(mime).dump() << R"(}],"content":{"mimeType":)" << json(mime).dump()
          << R"(,"text":")";
    std::string chunk;
    while (fill(chunk)) {
      m_out << base64(chunk);
    }
    m_out << R"(","encoding":"base64"}}})";
    m_first = false;
  }

  void close()
  {
    m_out << "]}}";
    m_out.close();
    REQUIRE(m_out.good());
  }

private:
  std::ofstream m_out;
  bool m_first = true;
};

// A 16-bit image of `rows` x `columns` as a Part 10 file.
void
write_big_instance(const fs::path& file, const std::string& sop, Uint16 rows, Uint16 columns)
{
  DcmFileFormat ff;
  DcmDataset& ds = *ff.getDataset();
  ds.putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
  ds.putAndInsertString(DCM_SOPInstanceUID, sop.c_str());
  ds.putAndInsertString(DCM_StudyInstanceUID, "1.2.3.9");
  ds.putAndInsertString(DCM_SeriesInstanceUID, "1.2.3.9.1");
  ds.putAndInsertString(DCM_Modality, "CT");
  ds.putAndInsertUint16(DCM_Rows, rows);
  ds.putAndInsertUint16(DCM_Columns, columns);
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds.putAndInsertUint16(DCM_BitsAllocated, 16);
  ds.putAndInsertUint16(DCM_BitsStored, 16);
  ds.putAndInsertUint16(DCM_HighBit, 15);
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  std::vector<Uint16> pixels(std::size_t{rows} * columns);
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = static_cast<Uint16>(i * 7919U);
  }
  REQUIRE(ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(),
                                     static_cast<unsigned long>(pixels.size()))
              .good());
  REQUIRE(ff.saveFile(file.c_str(), EXS_LittleEndianExplicit).good());
}

} // namespace

TEST_SUITE("media::import_har")
{
  TEST_CASE("whole files, multipart, WebSocket frames and Hinacom pairs come out of a capture")
  {
    const auto ct = pydicom_file("CT_small.dcm");
    const auto mr = pydicom_file("MR_small.dcm");
    const auto rgb = pydicom_file("SC_rgb_small_odd.dcm");
    const auto x2 = pydicom_file("chrX2.dcm");
    if (ct.empty() || mr.empty() || rgb.empty() || x2.empty()) {
      MESSAGE("python3-pydicom test files not installed; skipped");
      return;
    }
    testutil::TempDir dir;
    const auto work = dir.path() / "work";
    fs::create_directories(work);
    auto st = open_store(dir.path() / "store");

    const auto ws_file = make_instance(work, "1.2.826.0.1.3680043.2.1.1.7");
    const auto meta_file = make_instance(work, "1.2.826.0.1.3680043.2.1.1.8");
    const auto bare_file = make_instance(work, "1.2.826.0.1.3680043.2.1.1.9");
    const auto h1 = make_instance(work, "1.2.826.0.1.3680043.2.1.1.11");
    const auto h2 = make_instance(work, "1.2.826.0.1.3680043.2.1.1.12");
    const auto h3 = make_instance(work, "1.2.826.0.1.3680043.2.1.1.13");
    const std::string ascii_sop = "1.2.3.7.1.1";

    const std::string ct_bytes = read_all(ct);
    const std::string mr_bytes = read_all(mr);
    const std::string rgb_bytes = read_all(rgb);
    const std::string x2_bytes = read_all(x2);
    const std::string ws_bytes = read_all(ws_file.file);
    const std::string meta_bytes = read_all(meta_file.file);
    const std::string boundary = "DICOMwebBoundary42";
    const std::string multipart = "--" + boundary + "\r\nContent-Type: application/dicom\r\n\r\n"
                                  + rgb_bytes + "\r\n--" + boundary
                                  + "\r\nContent-Type: application/dicom\r\n\r\n" + x2_bytes
                                  + "\r\n--" + boundary + "--\r\n";
    const std::string viewer = "https://xa.medicalimagecloud.com/";
    const auto tags_url = [&](const std::string& image) {
      return viewer + "ImageViewer/GetImageDicomTags?studyId=S%201&imageId=" + image
             + "&frame=0&storageNodes=";
    };

    std::vector<json> entries;
    entries.push_back(entry("https://pacs.example/viewer", "text/html",
                            "<html><body>viewer</body></html>", false));
    entries.push_back(
        entry("https://pacs.example/wado?obj=1", "application/dicom", ct_bytes, true));
    entries.push_back(entry("https://pacs.example/wado?obj=2", "application/dicom",
                            mr_bytes.substr(0, 5000), true, 206));
    entries.push_back(entry("https://pacs.example/app.js", "application/javascript",
                            "function f(){return 1;}", true));
    entries.push_back(
        entry("https://pacs.example/wado?obj=2&again", "application/dicom", mr_bytes, true));
    entries.push_back(entry("https://pacs.example/dicomweb/studies/1/series/2", "multipart/related",
                            multipart, true, 200,
                            "multipart/related; type=\"application/dicom\"; boundary=" + boundary));
    {
      json ws =
          entry("wss://pacs.example/socket.io/?EIO=3&transport=websocket", "", "", false, 101);
      ws["_webSocketMessages"] = json::array(
          {{{"type", "send"}, {"time", 1.5}, {"opcode", 1}, {"data", "42[\"getImage\",1]"}},
           {{"type", "receive"},
            {"time", 1.6},
            {"opcode", 2},
            {"data", base64("\x04" + ws_bytes)}}});
      entries.push_back(ws);
    }
    entries.push_back(entry("https://pacs.example/sr", "text/plain",
                            ascii_dataset(ascii_sop, work / "ascii.bin"), false));
    entries.push_back(entry("https://pacs.example/wado?obj=1&text", "text/plain",
                            as_latin1_text(ct_bytes), false));
    entries.push_back(entry("https://pacs.example/wado?obj=8", "application/octet-stream",
                            meta_bytes.substr(132), true));
    entries.push_back(entry("https://pacs.example/wado?obj=9", "application/octet-stream",
                            dataset_bytes(bare_file.file, work / "bare.bin"), true));
    entries.push_back(entry(tags_url("I1"), "application/json",
                            testutil::tags_json(testutil::render_tags(h1.file)), false));
    entries.push_back(entry(viewer + "imageservice/api/image/j2k/S%201/I1/0/3?storageNodes=&ck=x",
                            "image/jp2", testutil::encode_jpeg2000(h1.file, {true, true}), true));
    // Pixels before their tags: pairing waits for the end of the capture.
    entries.push_back(entry(viewer + "imageservice/api/image/dicom/S%201/I2/0/0?storageNodes=&ck=x",
                            "application/octet-stream", testutil::native_pixels(h2.file), true));
    entries.push_back(entry(tags_url("I2"), "application/json",
                            testutil::tags_json(testutil::render_tags(h2.file)), false));
    entries.push_back(entry(tags_url("I3"), "application/json",
                            testutil::tags_json(testutil::render_tags(h3.file)), false));
    entries.push_back(entry(viewer + "imageservice/api/image/j2k/S%201/I3/0/1?storageNodes=&ck=x",
                            "image/jp2", testutil::encode_jpeg2000(h3.file, {true, true}), true));
    entries.push_back(entry(tags_url("pseudo"), "application/json", "[]", false));
    entries.push_back(
        entry("https://pacs.example/wado?obj=404", "text/html", "<h1>Not Found</h1>", false, 404));
    const auto har = dir.path() / "capture.har";
    write_all(har, har_text(entries));

    const auto result = media::import_har(har, *st);
    REQUIRE_MESSAGE(result, result.error().message());
    const auto& s = *result;
    INFO(joined(s.notes));
    CHECK(s.entries == 19);
    CHECK(s.dicom_found == 10); // CT, MR twice, 2 parts, frame, ASCII, text-mangled, meta, data set
    CHECK(s.rebuilt == 2);
    CHECK(s.duplicates == 1);
    CHECK(s.imported == 10);
    CHECK(s.already_stored == 0);
    CHECK(s.skipped == 3); // text-mangled body, /0/1 pixels, I3 tags without usable pixels
    CHECK(s.failed == 0);

    // Whole files are stored exactly as the server sent them.
    CHECK(stored_bytes(*st, sop_of(ct)) == ct_bytes);
    CHECK(stored_bytes(*st, sop_of(mr)) == mr_bytes); // the complete copy won
    CHECK(stored_bytes(*st, sop_of(rgb)) == rgb_bytes);
    CHECK(stored_bytes(*st, sop_of(x2)) == x2_bytes);
    CHECK(stored_bytes(*st, ws_file.sop) == ws_bytes);
    CHECK(stored_bytes(*st, meta_file.sop) == meta_bytes); // preamble restored
    // Data sets without meta header got one.
    CHECK(stored_transfer_syntax(*st, bare_file.sop) == UID_LittleEndianExplicitTransferSyntax);
    CHECK(stored_transfer_syntax(*st, ascii_sop) == UID_LittleEndianExplicitTransferSyntax);
    // Hinacom pairs were rebuilt: JP2 as JPEG 2000 lossless, raw as native.
    CHECK(stored_transfer_syntax(*st, h1.sop) == UID_JPEG2000LosslessOnlyTransferSyntax);
    CHECK(stored_transfer_syntax(*st, h2.sop) == UID_LittleEndianExplicitTransferSyntax);
    CHECK_FALSE(st->query().instance(h3.sop)->has_value());
    CHECK(testutil::native_pixels(st->root() / (*st->query().instance(h1.sop))->path)
          == testutil::native_pixels(h1.file));
    CHECK(joined(s.notes).find("?obj=") == std::string::npos); // no query strings in notes

    // Nothing left behind in the spool.
    long leftovers = 0;
    for (const auto& f : fs::recursive_directory_iterator(dir.path() / "store" / "spool")) {
      leftovers += f.is_regular_file() && f.path().filename() != ".lock" ? 1 : 0;
    }
    CHECK(leftovers == 0);

    SUBCASE("importing the same capture again stores nothing new")
    {
      const auto again = media::import_har(har, *st);
      REQUIRE(again);
      CHECK(again->imported == 0);
      CHECK(again->already_stored == 10);
      CHECK(again->duplicates == 1);
    }
  }

  TEST_CASE("a capture cut short is imported up to the cut; other files are refused")
  {
    const auto ct = pydicom_file("CT_small.dcm");
    const auto mr = pydicom_file("MR_small.dcm");
    if (ct.empty() || mr.empty()) {
      MESSAGE("python3-pydicom test files not installed; skipped");
      return;
    }
    testutil::TempDir dir;
    auto st = open_store(dir.path() / "store");
    const auto text = har_text({entry("https://a/1", "application/dicom", read_all(ct), true),
                                entry("https://a/2", "application/dicom", read_all(mr), true)});
    const auto cut = dir.path() / "cut.har";
    write_all(cut, text.substr(0, text.size() - 3000));
    const auto result = media::import_har(cut, *st);
    REQUIRE_MESSAGE(result, result.error().message());
    CHECK(result->entries == 2);
    CHECK(result->imported == 1);
    CHECK(joined(result->notes).find("cut short") != std::string::npos);

    const auto not_har = dir.path() / "other.json";
    write_all(not_har, R"({"studies": [1, 2, 3]})");
    const auto refused = media::import_har(not_har, *st);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == media::Errc::not_a_capture);
    CHECK_FALSE(media::import_har(dir.path() / "missing.har", *st));
  }

  TEST_CASE("a 300 MB capture is streamed in bounded memory" * doctest::test_suite("slow")
            * doctest::timeout(300))
  {
    testutil::TempDir dir;
    auto st = open_store(dir.path() / "store");
    const auto har = dir.path() / "big.har";
    const auto t0 = std::chrono::steady_clock::now();
    {
      HarStream out(har);
      // 100 non-DICOM bodies of 2 MiB (scripts, images, ...), base64.
      std::uint64_t x = 88172645463325252ULL;
      for (int e = 0; e < 100; ++e) {
        int left = 8;
        out.entry("https://cdn.example/blob/" + std::to_string(e), "application/octet-stream",
                  [&](std::string& chunk) {
                    if (left-- == 0) {
                      return false;
                    }
                    chunk.resize(3 * 87381); // 256 KiB - 1
                    for (auto& c : chunk) {
                      x ^= x << 13;
                      x ^= x >> 7;
                      x ^= x << 17;
                      c = static_cast<char>(x);
                    }
                    return true;
                  });
      }
      // 20 CT images of 512 KiB and one of 8 MiB, the largest body.
      for (int i = 0; i < 21; ++i) {
        const auto file = dir.path() / "img.dcm";
        const Uint16 size = i == 20 ? 2048 : 512;
        write_big_instance(file, "1.2.3.9.1." + std::to_string(i + 1), size, size);
        std::ifstream in(file, std::ios::binary);
        out.entry("https://pacs.example/wado?i=" + std::to_string(i), "application/dicom",
                  [&](std::string& chunk) {
                    chunk.resize(3 * 65536);
                    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
                    chunk.resize(static_cast<std::size_t>(in.gcount()));
                    return !chunk.empty();
                  });
      }
      out.close();
    }
    const auto t1 = std::chrono::steady_clock::now();
    const auto har_size = fs::file_size(har);
    CHECK(har_size > 290'000'000);

    const long rss_before = status_kb("VmRSS:");
    const bool reset = reset_peak();
    const long hwm_before = status_kb("VmHWM:");
    const auto result = media::import_har(har, *st);
    const long hwm_after = status_kb("VmHWM:");
    const auto t2 = std::chrono::steady_clock::now();
    REQUIRE_MESSAGE(result, result.error().message());
    CHECK(result->entries == 121);
    CHECK(result->dicom_found == 21);
    CHECK(result->imported == 21);
    CHECK(result->failed == 0);

    const long growth_kb = hwm_after - (reset ? rss_before : hwm_before);
    const auto ms = [](auto d) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    MESSAGE("HAR of " << har_size / 1'000'000 << " MB written in " << ms(t1 - t0)
                      << " ms, imported in " << ms(t2 - t1) << " ms; peak RSS growth "
                      << growth_kb / 1024 << " MiB"
                      << std::string(reset ? "" : " (peak not resettable)"));
    CHECK(growth_kb < 100 * 1024);
  }
}
