// SPDX-License-Identifier: GPL-3.0-or-later
#include "corpus.hpp"

#include "jp2_encode.hpp"

#include <dicom/charset.hpp>
#include <dicom/transcode.hpp>

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <climits>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace replica {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_explicit_le = "1.2.840.10008.1.2.1";

bool
is_part10(const fs::path& file)
{
  std::ifstream in(file, std::ios::binary);
  char head[132];
  return in.read(head, sizeof(head)) && std::string_view(head + 128, 4) == "DICM";
}

std::string
trim(std::string_view s, bool leading)
{
  const auto padding = [](char c) { return c == ' ' || c == '\0'; };
  while (!s.empty() && padding(s.back())) {
    s.remove_suffix(1);
  }
  while (leading && !s.empty() && padding(s.front())) {
    s.remove_prefix(1);
  }
  return std::string(s);
}

// Padding trimmed from each value; LT/ST/UT/UR are single-valued and keep
// leading spaces (PS3.5 6.2).
std::string
trim_values(const std::string& text, DcmEVR vr)
{
  if (vr == EVR_LT || vr == EVR_ST || vr == EVR_UT || vr == EVR_UR) {
    return trim(text, false);
  }
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find('\\', start);
    out += trim(std::string_view(text).substr(start, end == std::string::npos ? std::string::npos
                                                                              : end - start),
                true);
    if (end == std::string::npos) {
      break;
    }
    out += '\\';
    start = end + 1;
  }
  return out;
}

template <typename T>
std::string
shortest(T value)
{
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, r.ptr);
}

std::string
hex_bytes(const Uint8* data, unsigned long length)
{
  static const char* k_digits = "0123456789ABCDEF";
  std::string out;
  out.reserve(length * 2);
  for (unsigned long i = 0; i < length; ++i) {
    out += k_digits[data[i] >> 4];
    out += k_digits[data[i] & 15];
  }
  return out;
}

// The viewer's text for one element, or nullopt when it leaves it out.
std::optional<std::string>
render_value(DcmElement& e, bool include_binary)
{
  const DcmEVR vr = e.getVR();
  const unsigned long vm = e.getVM();
  std::string out;
  const auto join = [&](auto get) {
    for (unsigned long i = 0; i < vm; ++i) {
      if (i > 0) {
        out += '\\';
      }
      out += get(i);
    }
    return out;
  };
  switch (vr) {
  case EVR_US:
    return join([&](unsigned long i) {
      Uint16 v = 0;
      e.getUint16(v, i);
      return std::to_string(v);
    });
  case EVR_SS:
    return join([&](unsigned long i) {
      Sint16 v = 0;
      e.getSint16(v, i);
      return std::to_string(v);
    });
  case EVR_UL:
    return join([&](unsigned long i) {
      Uint32 v = 0;
      e.getUint32(v, i);
      return std::to_string(v);
    });
  case EVR_SL:
    return join([&](unsigned long i) {
      Sint32 v = 0;
      e.getSint32(v, i);
      return std::to_string(v);
    });
  case EVR_FL:
    return join([&](unsigned long i) {
      Float32 v = 0;
      e.getFloat32(v, i);
      return shortest(v);
    });
  case EVR_FD:
    return join([&](unsigned long i) {
      Float64 v = 0;
      e.getFloat64(v, i);
      return shortest(v);
    });
  case EVR_AT:
    return join([&](unsigned long i) {
      DcmTagKey key;
      static_cast<DcmAttributeTag&>(e).getTagVal(key, i);
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%04X%04X", key.getGroup(), key.getElement());
      return std::string(buf);
    });
  case EVR_UV:
  case EVR_SV:
    return join([&](unsigned long i) {
      OFString v;
      e.getOFString(v, i);
      return std::string(v.c_str());
    });
  case EVR_SQ:
    if (include_binary) {
      return std::string();
    }
    return std::nullopt;
  case EVR_OB:
  case EVR_OW:
  case EVR_OF:
  case EVR_OD:
  case EVR_OL:
  case EVR_OV:
  case EVR_UN:
  case EVR_ox:
  case EVR_px:
  case EVR_lt:
  case EVR_xs:
  case EVR_na:
  case EVR_UNKNOWN:
  case EVR_UNKNOWN2B:
    if (include_binary) {
      Uint8* data = nullptr;
      if (e.getUint8Array(data).good() && data != nullptr) {
        return hex_bytes(data, e.getLength());
      }
      return std::string();
    }
    return std::nullopt;
  default: {
    OFString value;
    e.getOFStringArray(value);
    return trim_values(std::string(value.c_str(), value.length()), vr);
  }
  }
}

void
add_tags(DcmItem& item, nlohmann::json& out, bool include_binary, const std::string& charset)
{
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* e = item.getElement(i);
    const DcmTagKey key = e->getTag().getXTag();
    if (key == DCM_PixelData || key == DCM_FileMetaInformationVersion || key == DCM_FloatPixelData
        || key == DCM_DoubleFloatPixelData) {
      continue;
    }
    std::optional<std::string> value;
    if (key == DCM_SpecificCharacterSet) {
      value = charset; // as the file declared it, not our UTF-8 rewrite
      if (charset.empty() && !include_binary) {
        continue;
      }
    } else {
      value = render_value(*e, include_binary);
    }
    if (!value) {
      continue;
    }
    char tag[16];
    std::snprintf(tag, sizeof(tag), "%04X,%04X", key.getGroup(), key.getElement());
    DcmTag named(e->getTag());
    out.push_back({{"tag", tag}, {"name", named.getTagName()}, {"value", *value}});
  }
}

std::string
get_string(DcmItem& item, const DcmTagKey& key)
{
  OFString v;
  item.findAndGetOFStringArray(key, v);
  return trim(std::string(v.c_str(), v.length()), true);
}

std::optional<long>
get_long(DcmItem& item, const DcmTagKey& key)
{
  const auto text = get_string(item, key);
  if (text.empty()) {
    return std::nullopt;
  }
  try {
    return std::stol(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A JSON number for a DS/IS text (first value), or null.
nlohmann::json
number_of(DcmItem& item, const DcmTagKey& key, unsigned long pos = 0)
{
  OFString v;
  if (item.findAndGetOFString(key, v, pos).bad() || v.empty()) {
    return nullptr;
  }
  try {
    return std::stod(v.c_str());
  } catch (const std::exception&) {
    return nullptr;
  }
}

nlohmann::json
numbers_of(DcmItem& item, const DcmTagKey& key)
{
  auto out = nlohmann::json::array();
  DcmElement* e = nullptr;
  if (item.findAndGetElement(key, e).bad()) {
    return nullptr;
  }
  for (unsigned long i = 0; i < e->getVM(); ++i) {
    out.push_back(number_of(item, key, i));
  }
  return out;
}

nlohmann::json
string_or_null(DcmItem& item, const DcmTagKey& key)
{
  const auto s = get_string(item, key);
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

// X-ImageFrame (platforms.md 3.1.5): the keys seen in an earlier viewer.
std::string
image_frame(DcmItem& ds, const PixelLayout& layout, std::string_view native)
{
  nlohmann::json j;
  j["signed"] = layout.is_signed;
  j["bitsAllocated"] = layout.bits_allocated;
  j["bitsStored"] = layout.bits_stored;
  j["rows"] = layout.rows;
  j["columns"] = layout.columns;
  j["samplesPerPixel"] = layout.samples;
  j["photometricInterpretation"] = get_string(ds, DCM_PhotometricInterpretation);
  auto intercept = number_of(ds, DCM_RescaleIntercept);
  auto slope = number_of(ds, DCM_RescaleSlope);
  j["intercept"] = intercept.is_null() ? nlohmann::json(0) : intercept;
  j["slope"] = slope.is_null() ? nlohmann::json(1) : slope;
  j["windowWidth"] = number_of(ds, DCM_WindowWidth);
  j["windowCenter"] = number_of(ds, DCM_WindowCenter);
  j["instanceNumber"] = number_of(ds, DCM_InstanceNumber);
  j["frameOfReferenceUID"] = string_or_null(ds, DCM_FrameOfReferenceUID);
  j["modality"] = string_or_null(ds, DCM_Modality);
  j["sliceThickness"] = number_of(ds, DCM_SliceThickness);
  j["echoNumbers"] = number_of(ds, DCM_EchoNumbers);
  j["echoTrainLength"] = number_of(ds, DCM_EchoTrainLength);
  j["timeToRepetition"] = number_of(ds, DCM_RepetitionTime);
  j["timeToEcho"] = number_of(ds, DCM_EchoTime);
  j["kvp"] = number_of(ds, DCM_KVP);
  j["exposureTime"] = number_of(ds, DCM_ExposureTime);
  j["exposure"] = number_of(ds, DCM_Exposure);
  j["sliceLocation"] = number_of(ds, DCM_SliceLocation);
  j["convolutionKernel"] = string_or_null(ds, DCM_ConvolutionKernel);
  j["imagePosition"] = numbers_of(ds, DCM_ImagePositionPatient);
  j["pixelSpacing"] = numbers_of(ds, DCM_PixelSpacing);
  const auto orientation = numbers_of(ds, DCM_ImageOrientationPatient);
  if (orientation.is_array() && orientation.size() == 6) {
    j["rowCosines"] = {orientation[0], orientation[1], orientation[2]};
    j["columnCosines"] = {orientation[3], orientation[4], orientation[5]};
  }
  Uint16 padding = 0;
  if (ds.findAndGetUint16(DCM_PixelPaddingValue, padding).good()) {
    j["pixelPaddingValue"] =
        layout.is_signed ? static_cast<long>(static_cast<Sint16>(padding)) : long{padding};
  } else {
    j["pixelPaddingValue"] = nullptr;
  }
  // Min and max over the frame (the viewer uses them for its first window).
  const std::size_t bps = layout.bytes_per_sample();
  long lo = 0;
  long hi = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(native.data());
  const std::size_t count = native.size() / bps;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t v = 0;
    for (std::size_t b = 0; b < bps; ++b) {
      v |= std::uint32_t{bytes[i * bps + b]} << (8 * b);
    }
    long value = static_cast<long>(v);
    if (layout.is_signed && bps < 4 && (v & (1U << (8 * bps - 1))) != 0) {
      value = static_cast<long>(v) - (1L << (8 * bps));
    }
    lo = i == 0 ? value : std::min(lo, value);
    hi = i == 0 ? value : std::max(hi, value);
  }
  j["minPixelValue"] = lo;
  j["maxPixelValue"] = hi;
  return j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

PixelLayout
layout_of(DcmItem& ds)
{
  PixelLayout l;
  Uint16 v = 0;
  if (ds.findAndGetUint16(DCM_Rows, v).good()) {
    l.rows = v;
  }
  if (ds.findAndGetUint16(DCM_Columns, v).good()) {
    l.columns = v;
  }
  if (ds.findAndGetUint16(DCM_SamplesPerPixel, v).good() && v > 0) {
    l.samples = v;
  }
  if (ds.findAndGetUint16(DCM_BitsAllocated, v).good() && v > 0) {
    l.bits_allocated = v;
  }
  l.bits_stored = l.bits_allocated;
  if (ds.findAndGetUint16(DCM_BitsStored, v).good() && v > 0 && v <= l.bits_allocated) {
    l.bits_stored = v;
  }
  if (ds.findAndGetUint16(DCM_PixelRepresentation, v).good()) {
    l.is_signed = v == 1;
  }
  if (l.samples > 1 && ds.findAndGetUint16(DCM_PlanarConfiguration, v).good()) {
    l.planar = v == 1;
  }
  return l;
}

// Frame 0 as native little-endian bytes; compressed fixtures are decoded
// through the node's own codecs.
std::string
native_frame(const fs::path& file, DcmFileFormat& original, const PixelLayout& layout)
{
  std::unique_ptr<DcmFileFormat> converted;
  DcmDataset* ds = original.getDataset();
  const E_TransferSyntax xfer = ds->getOriginalXfer();
  if (DcmXfer(xfer).isEncapsulated() || xfer == EXS_BigEndianExplicit) {
    auto loaded = dicom::load_for_sending(file, k_explicit_le);
    if (!loaded) {
      throw std::runtime_error(file.string()
                               + ": cannot decode pixel data: " + loaded.error().message());
    }
    converted = std::move(*loaded);
    ds = converted->getDataset();
  }
  DcmElement* pixels = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr) {
    return {};
  }
  Uint8* data = nullptr;
  if (pixels->getUint8Array(data).bad() || data == nullptr) {
    throw std::runtime_error(file.string() + ": cannot read pixel data");
  }
  const std::size_t want = layout.frame_bytes();
  if (pixels->getLength() < want) {
    throw std::runtime_error(file.string()
                             + ": pixel data shorter than Rows x Columns x Samples x Bytes");
  }
  return std::string(reinterpret_cast<const char*>(data), want);
}

struct Loaded
{
  Instance instance;
  std::string study_uid;
  std::string series_uid;
  std::optional<long> series_number;
  std::string series_description;
  std::string modality;
  std::string patient_name;
  std::string patient_id;
  std::string study_description;
  std::string study_date;
  std::string study_time;
  std::string accession_number;
  PixelLayout layout;
};

Loaded
load_file(const fs::path& file, const CorpusOptions& options)
{
  DcmFileFormat ff;
  const OFCondition status = ff.loadFile(file.c_str());
  if (status.bad()) {
    throw std::runtime_error(file.string() + ": " + status.text());
  }
  DcmDataset& ds = *ff.getDataset();
  DcmMetaInfo& meta = *ff.getMetaInfo();
  ds.loadAllDataIntoMemory();

  Loaded l;
  l.instance.file = file;
  l.layout = layout_of(ds);
  l.instance.native = std::make_shared<const std::string>(native_frame(file, ff, l.layout));

  // Text as the viewer sends it: Unicode. Work on a copy; keep the declared
  // SpecificCharacterSet for the tag list.
  std::string charset;
  {
    OFString v;
    if (ds.findAndGetOFStringArray(DCM_SpecificCharacterSet, v).good()) {
      charset = trim_values(v.c_str(), EVR_CS);
    }
  }
  DcmDataset utf8(ds);
  utf8.findAndDeleteElement(DCM_PixelData);
  dicom::decode_to_utf8(utf8, "GB18030");

  auto tags = nlohmann::json::array();
  add_tags(meta, tags, options.include_binary, charset);
  add_tags(utf8, tags, options.include_binary, charset);
  l.instance.tags_json = tags.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  l.instance.image_frame = image_frame(utf8, l.layout, *l.instance.native);

  l.instance.sop_instance_uid = get_string(utf8, DCM_SOPInstanceUID);
  l.instance.sop_class_uid = get_string(utf8, DCM_SOPClassUID);
  l.instance.instance_number = get_long(utf8, DCM_InstanceNumber);
  l.instance.image_id = hash_hex("image|" + l.instance.sop_instance_uid).substr(0, 20);
  l.study_uid = get_string(utf8, DCM_StudyInstanceUID);
  l.series_uid = get_string(utf8, DCM_SeriesInstanceUID);
  l.series_number = get_long(utf8, DCM_SeriesNumber);
  l.series_description = get_string(utf8, DCM_SeriesDescription);
  l.modality = get_string(utf8, DCM_Modality);
  l.patient_name = get_string(utf8, DCM_PatientName);
  l.patient_id = get_string(utf8, DCM_PatientID);
  l.study_description = get_string(utf8, DCM_StudyDescription);
  l.study_date = get_string(utf8, DCM_StudyDate);
  l.study_time = get_string(utf8, DCM_StudyTime);
  l.accession_number = get_string(utf8, DCM_AccessionNumber);
  if (l.instance.sop_instance_uid.empty() || l.study_uid.empty() || l.series_uid.empty()) {
    throw std::runtime_error(file.string()
                             + ": SOP Instance, Study or Series Instance UID missing");
  }
  return l;
}

std::string
format_date_time(const std::string& date, const std::string& time)
{
  if (date.size() < 8) {
    return date;
  }
  std::string out = date.substr(0, 4) + "-" + date.substr(4, 2) + "-" + date.substr(6, 2);
  if (time.size() >= 6) {
    out += " " + time.substr(0, 2) + ":" + time.substr(2, 2) + ":" + time.substr(4, 2);
  } else if (time.size() >= 4) {
    out += " " + time.substr(0, 2) + ":" + time.substr(2, 2) + ":00";
  }
  return out;
}

// Encode every distinct pixel frame once (generated series clone one
// slice), on all cores.
void
encode_all(std::vector<Loaded>& files, const CorpusOptions& options)
{
  std::map<std::pair<std::size_t, std::size_t>, std::vector<std::size_t>>
      groups; // (hash, size) -> files
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& n = *files[i].instance.native;
    groups[{std::hash<std::string_view>()(n), n.size()}].push_back(i);
  }
  std::vector<std::vector<std::size_t>> work;
  for (auto& [key, members] : groups) {
    // Same hash but different bytes (never seen): split.
    std::vector<std::vector<std::size_t>> split;
    for (const auto i : members) {
      auto it = std::find_if(split.begin(), split.end(), [&](const auto& g) {
        return *files[g.front()].instance.native == *files[i].instance.native
               && files[g.front()].layout.bits_stored == files[i].layout.bits_stored
               && files[g.front()].layout.is_signed == files[i].layout.is_signed
               && files[g.front()].layout.rows == files[i].layout.rows;
      });
      if (it == split.end()) {
        split.push_back({i});
      } else {
        it->push_back(i);
      }
    }
    work.insert(work.end(), split.begin(), split.end());
  }
  std::atomic<std::size_t> next{0};
  std::mutex error_mutex;
  std::string error;
  const auto worker = [&] {
    for (std::size_t k = next++; k < work.size(); k = next++) {
      auto& first = files[work[k].front()];
      if (first.instance.native->empty()) {
        continue;
      }
      try {
        EncodeOptions eo;
        eo.jp2 = !options.bare_codestream;
        eo.irreversible = options.irreversible;
        auto encoded = std::make_shared<const std::string>(
            encode_jpeg2000(*first.instance.native, first.layout, eo));
        for (const auto i : work[k]) {
          files[i].instance.j2k = encoded;
          files[i].instance.native = first.instance.native; // share the memory
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(error_mutex);
        error = first.instance.file.string() + ": " + e.what();
      }
    }
  };
  std::vector<std::thread> threads;
  const unsigned n = std::max(1U, std::thread::hardware_concurrency());
  for (unsigned t = 0; t < n; ++t) {
    threads.emplace_back(worker);
  }
  for (auto& t : threads) {
    t.join();
  }
  if (!error.empty()) {
    throw std::runtime_error(error);
  }
}

} // namespace

std::string
hash_hex(const std::string& text)
{
  // A fixed namespace of our own for the name-based UUIDs.
  static const boost::uuids::uuid k_namespace = {{0x6c, 0x6f, 0x75, 0x64, 0x66, 0x69, 0x6c, 0x6d,
                                                  0x2d, 0x72, 0x65, 0x70, 0x6c, 0x69, 0x63, 0x61}};
  boost::uuids::name_generator_sha1 generate(k_namespace);
  auto text_uuid = boost::uuids::to_string(generate(text));
  text_uuid.erase(std::remove(text_uuid.begin(), text_uuid.end(), '-'), text_uuid.end());
  return text_uuid;
}

Study
load_study(const fs::path& dir, const CorpusOptions& options)
{
  std::vector<fs::path> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && is_part10(entry.path())) {
      paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) {
    throw std::runtime_error("no DICOM Part 10 file below " + dir.string());
  }
  std::vector<Loaded> files;
  files.reserve(paths.size());
  for (const auto& p : paths) {
    files.push_back(load_file(p, options));
  }
  encode_all(files, options);

  Study study;
  study.study_instance_uid = files.front().study_uid;
  for (const auto& f : files) {
    if (f.study_uid != study.study_instance_uid) {
      throw std::runtime_error("the fixtures hold more than one study (" + study.study_instance_uid
                               + ", " + f.study_uid + "); the replica serves one");
    }
  }
  std::map<std::string, std::size_t> index_of; // SOP Instance UID -> files[]
  for (std::size_t i = 0; i < files.size(); ++i) {
    index_of[files[i].instance.sop_instance_uid] = i;
  }
  std::map<std::string, Series> by_uid;
  for (auto& f : files) {
    auto& s = by_uid[f.series_uid];
    if (s.series_instance_uid.empty()) {
      s.series_instance_uid = f.series_uid;
      s.number = f.series_number;
      s.description = f.series_description;
      s.modality = f.modality;
    }
    s.instances.push_back(std::move(f.instance));
  }
  for (auto& [uid, s] : by_uid) {
    std::sort(s.instances.begin(), s.instances.end(), [](const Instance& a, const Instance& b) {
      const long na = a.instance_number.value_or(LONG_MAX);
      const long nb = b.instance_number.value_or(LONG_MAX);
      return na != nb ? na < nb : a.sop_instance_uid < b.sop_instance_uid;
    });
    study.series.push_back(std::move(s));
  }
  std::sort(study.series.begin(), study.series.end(), [](const Series& a, const Series& b) {
    const long na = a.number.value_or(LONG_MAX);
    const long nb = b.number.value_or(LONG_MAX);
    return na != nb ? na < nb : a.series_instance_uid < b.series_instance_uid;
  });

  // Study-level values from the first instance of the first series.
  const auto first = &files[index_of.at(study.series.front().instances.front().sop_instance_uid)];
  study.patient_name = first->patient_name;
  study.patient_id = first->patient_id;
  study.description = first->study_description;
  study.date_time = format_date_time(first->study_date, first->study_time);
  study.accession_number = first->accession_number;
  study.study_id = hash_hex("study|" + study.study_instance_uid).substr(0, 24);
  study.exam_uid = hash_hex("exam|" + study.study_instance_uid);
  return study;
}

} // namespace replica
