// SPDX-License-Identifier: GPL-3.0-or-later
#include "hinacom.hpp"

#include <core/strings.hpp>
#include <dicom/charset.hpp>
#include <dicom/transcode.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <nlohmann/json.hpp>
#include <openjpeg.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace testutil {

namespace {

bool
is_number(DcmEVR vr)
{
  switch (vr) {
  case EVR_US:
  case EVR_SS:
  case EVR_UL:
  case EVR_SL:
  case EVR_SV:
  case EVR_UV:
  case EVR_FL:
  case EVR_FD:
  case EVR_up:
  case EVR_xs:
    return true;
  default:
    return false;
  }
}

void
render(DcmItem& item, std::vector<dicom::TextTag>& out)
{
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* e = item.getElement(i);
    const DcmTag& tag = e->getTag();
    if (tag == DCM_PixelData || e->ident() == EVR_SQ || e->ident() == EVR_pixelSQ) {
      continue;
    }
    dicom::TextTag t{tag.getGroup(), tag.getElement(), {}};
    if (is_number(e->ident())) {
      for (unsigned long v = 0; v < e->getVM(); ++v) {
        OFString one;
        e->getOFString(one, v);
        t.value += (v == 0 ? "" : "\\") + std::string(one.c_str());
      }
    } else {
      OFString all;
      e->getOFStringArray(all);
      t.value = core::trim(std::string_view(all.c_str(), all.size()));
    }
    out.push_back(std::move(t));
  }
}

std::unique_ptr<DcmFileFormat>
load(const std::filesystem::path& file)
{
  auto ff = std::make_unique<DcmFileFormat>();
  if (ff->loadFile(file.c_str()).bad()) {
    throw std::runtime_error("cannot load " + file.string());
  }
  return ff;
}

Uint16
u16(DcmItem& item, const DcmTagKey& key, Uint16 fallback = 0)
{
  Uint16 v = fallback;
  item.findAndGetUint16(key, v);
  return v;
}

// OpenJPEG writing into a std::string (JP2 needs seeking back).
struct Sink
{
  std::string data;
  std::size_t position = 0;
};

OPJ_SIZE_T
sink_write(void* buffer, OPJ_SIZE_T n, void* user)
{
  auto& s = *static_cast<Sink*>(user);
  if (s.position + n > s.data.size()) {
    s.data.resize(s.position + n);
  }
  std::memcpy(s.data.data() + s.position, buffer, n);
  s.position += n;
  return n;
}

OPJ_OFF_T
sink_skip(OPJ_OFF_T n, void* user)
{
  auto& s = *static_cast<Sink*>(user);
  s.position = static_cast<std::size_t>(static_cast<OPJ_OFF_T>(s.position) + n);
  if (s.position > s.data.size()) {
    s.data.resize(s.position);
  }
  return n;
}

OPJ_BOOL
sink_seek(OPJ_OFF_T n, void* user)
{
  auto& s = *static_cast<Sink*>(user);
  s.position = static_cast<std::size_t>(n);
  if (s.position > s.data.size()) {
    s.data.resize(s.position);
  }
  return OPJ_TRUE;
}

} // namespace

std::vector<dicom::TextTag>
render_tags(const std::filesystem::path& file)
{
  auto ff = load(file);
  dicom::decode_to_utf8(*ff->getDataset(), "GB18030");
  std::vector<dicom::TextTag> tags;
  render(*ff->getMetaInfo(), tags);
  render(*ff->getDataset(), tags);
  return tags;
}

std::string
tags_json(const std::vector<dicom::TextTag>& tags)
{
  auto array = nlohmann::json::array();
  for (const auto& t : tags) {
    char tag[16];
    std::snprintf(tag, sizeof tag, "%04X,%04X", t.group, t.element);
    array.push_back({{"tag", tag}, {"name", ""}, {"value", t.value}});
  }
  return array.dump();
}

std::string
native_pixels(const std::filesystem::path& file)
{
  auto loaded = dicom::load_for_sending(file, UID_LittleEndianExplicitTransferSyntax);
  if (!loaded) {
    throw std::runtime_error(loaded.error().message());
  }
  DcmDataset& ds = *(*loaded)->getDataset();
  DcmElement* pixel = nullptr;
  Uint8* data = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixel).bad() || pixel->getUint8Array(data).bad()) {
    throw std::runtime_error("no pixel data in " + file.string());
  }
  Sint32 frames = 1;
  ds.findAndGetSint32(DCM_NumberOfFrames, frames);
  const std::size_t size = std::size_t{u16(ds, DCM_Rows)} * u16(ds, DCM_Columns)
                           * u16(ds, DCM_SamplesPerPixel, 1)
                           * ((u16(ds, DCM_BitsAllocated) + 7U) / 8U)
                           * static_cast<std::size_t>(std::max<Sint32>(frames, 1));
  if (size > pixel->getLength()) {
    throw std::runtime_error("short pixel data in " + file.string());
  }
  return std::string(reinterpret_cast<const char*>(data), size);
}

std::string
encode_jpeg2000(const std::filesystem::path& file, const J2kOptions& options)
{
  auto ff = load(file);
  DcmDataset& ds = *ff->getDataset();
  const Uint16 rows = u16(ds, DCM_Rows);
  const Uint16 columns = u16(ds, DCM_Columns);
  const Uint16 samples = u16(ds, DCM_SamplesPerPixel, 1);
  const Uint16 allocated = u16(ds, DCM_BitsAllocated);
  const Uint16 stored = u16(ds, DCM_BitsStored, allocated);
  const bool is_signed = u16(ds, DCM_PixelRepresentation) == 1;
  const std::string pixels = native_pixels(file);
  const std::size_t bps = (allocated + 7U) / 8U;

  std::vector<opj_image_cmptparm_t> parms(samples);
  for (auto& p : parms) {
    p = {};
    p.dx = 1;
    p.dy = 1;
    p.w = columns;
    p.h = rows;
    p.prec = stored;
    p.sgnd = is_signed ? 1 : 0;
  }
  std::unique_ptr<opj_image_t, void (*)(opj_image_t*)> image(
      opj_image_create(samples, parms.data(), samples == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY),
      opj_image_destroy);
  image->x1 = columns;
  image->y1 = rows;
  const auto* bytes = reinterpret_cast<const unsigned char*>(pixels.data());
  const std::size_t count = std::size_t{rows} * columns;
  for (std::size_t i = 0; i < count; ++i) {
    for (std::size_t c = 0; c < samples; ++c) {
      const unsigned char* s = bytes + (i * samples + c) * bps;
      std::int32_t v = bps == 1 ? s[0] : (s[0] | s[1] << 8);
      if (is_signed && bps == 2) {
        v = static_cast<std::int16_t>(v);
      } else if (is_signed && bps == 1) {
        v = static_cast<std::int8_t>(v);
      }
      image->comps[c].data[i] = v;
    }
  }

  opj_cparameters_t parameters;
  opj_set_default_encoder_parameters(&parameters);
  parameters.tcp_numlayers = 1;
  parameters.cp_disto_alloc = 1;
  parameters.tcp_rates[0] = options.reversible ? 0 : 8;
  parameters.irreversible = options.reversible ? 0 : 1;
  parameters.tcp_mct = samples == 3 ? 1 : 0;
  // Each resolution level halves the image; a 3x3 image has room for two.
  int levels = 1;
  while (levels < 6 && (1 << levels) <= std::min(rows, columns)) {
    ++levels;
  }
  parameters.numresolution = levels;

  std::unique_ptr<opj_codec_t, void (*)(opj_codec_t*)> codec(
      opj_create_compress(options.jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K), opj_destroy_codec);
  if (!opj_setup_encoder(codec.get(), &parameters, image.get())) {
    throw std::runtime_error("opj_setup_encoder failed");
  }
  Sink sink;
  std::unique_ptr<opj_stream_t, void (*)(opj_stream_t*)> stream(
      opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE), opj_stream_destroy);
  opj_stream_set_user_data(stream.get(), &sink, nullptr);
  opj_stream_set_write_function(stream.get(), sink_write);
  opj_stream_set_skip_function(stream.get(), sink_skip);
  opj_stream_set_seek_function(stream.get(), sink_seek);
  if (!opj_start_compress(codec.get(), image.get(), stream.get())
      || !opj_encode(codec.get(), stream.get()) || !opj_end_compress(codec.get(), stream.get())) {
    throw std::runtime_error("OpenJPEG encoding failed");
  }
  stream.reset(); // flushes
  return sink.data;
}

} // namespace testutil
