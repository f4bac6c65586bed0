// SPDX-License-Identifier: GPL-3.0-or-later
#include "jp2_encode.hpp"

#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace replica {

namespace {

// A growable in-memory destination for opj_stream (write, skip, seek: the
// JP2 writer goes back to patch box lengths).
struct Sink
{
  std::string data;
  std::size_t pos = 0;
};

OPJ_SIZE_T
sink_write(void* buffer, OPJ_SIZE_T bytes, void* user)
{
  auto& sink = *static_cast<Sink*>(user);
  if (sink.pos + bytes > sink.data.size()) {
    sink.data.resize(sink.pos + bytes);
  }
  std::memcpy(&sink.data[sink.pos], buffer, bytes);
  sink.pos += bytes;
  return bytes;
}

OPJ_OFF_T
sink_skip(OPJ_OFF_T bytes, void* user)
{
  auto& sink = *static_cast<Sink*>(user);
  if (bytes < 0 && static_cast<std::size_t>(-bytes) > sink.pos) {
    return -1;
  }
  sink.pos = static_cast<std::size_t>(static_cast<OPJ_OFF_T>(sink.pos) + bytes);
  if (sink.pos > sink.data.size()) {
    sink.data.resize(sink.pos);
  }
  return bytes;
}

OPJ_BOOL
sink_seek(OPJ_OFF_T to, void* user)
{
  auto& sink = *static_cast<Sink*>(user);
  if (to < 0) {
    return OPJ_FALSE;
  }
  sink.pos = static_cast<std::size_t>(to);
  if (sink.pos > sink.data.size()) {
    sink.data.resize(sink.pos);
  }
  return OPJ_TRUE;
}

void
on_message(const char* /*text*/, void* /*user*/)
{
}

void
on_error(const char* text, void* user)
{
  auto& out = *static_cast<std::string*>(user);
  out += text;
}

struct CodecDeleter
{
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct ImageDeleter
{
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};
struct StreamDeleter
{
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};

// One little-endian sample of `bytes` bytes, sign-extended when `is_signed`.
std::int32_t
read_sample(const unsigned char* p, std::size_t bytes, bool is_signed)
{
  std::uint32_t v = 0;
  for (std::size_t b = 0; b < bytes; ++b) {
    v |= static_cast<std::uint32_t>(p[b]) << (8 * b);
  }
  if (is_signed && bytes < 4) {
    const std::uint32_t sign = 1U << (8 * bytes - 1);
    if ((v & sign) != 0) {
      v |= ~((sign << 1) - 1);
    }
  }
  return static_cast<std::int32_t>(v);
}

} // namespace

std::string
encode_jpeg2000(std::string_view native, const PixelLayout& layout, const EncodeOptions& options)
{
  if (layout.rows == 0 || layout.columns == 0 || layout.samples == 0
      || native.size() < layout.frame_bytes() || layout.bits_allocated > 32) {
    throw std::runtime_error("encode_jpeg2000: pixel data does not match the layout");
  }
  const std::size_t bps = layout.bytes_per_sample();
  const std::size_t pixels = std::size_t{layout.rows} * layout.columns;
  const auto* bytes = reinterpret_cast<const unsigned char*>(native.data());

  // Samples as OpenJPEG wants them: one plane of int32 per component. The
  // container value (two's complement in BitsAllocated) is what we keep.
  std::vector<std::vector<std::int32_t>> planes(layout.samples, std::vector<std::int32_t>(pixels));
  for (std::size_t c = 0; c < layout.samples; ++c) {
    for (std::size_t i = 0; i < pixels; ++i) {
      const std::size_t at = layout.planar ? (c * pixels + i) : (i * layout.samples + c);
      planes[c][i] = read_sample(bytes + at * bps, bps, layout.is_signed);
    }
  }
  // Precision: BitsStored if every value fits, else the whole container.
  std::uint32_t precision = std::min(layout.bits_stored, layout.bits_allocated);
  if (precision == 0) {
    precision = layout.bits_allocated;
  }
  const auto fits = [&](std::uint32_t prec) {
    const std::int64_t lo = layout.is_signed ? -(std::int64_t{1} << (prec - 1)) : 0;
    const std::int64_t hi =
        layout.is_signed ? (std::int64_t{1} << (prec - 1)) - 1 : (std::int64_t{1} << prec) - 1;
    for (const auto& plane : planes) {
      for (const auto v : plane) {
        const std::int64_t value =
            layout.is_signed ? std::int64_t{v} : std::int64_t{static_cast<std::uint32_t>(v)};
        if (value < lo || value > hi) {
          return false;
        }
      }
    }
    return true;
  };
  if (!fits(precision)) {
    precision = layout.bits_allocated;
  }

  std::vector<opj_image_cmptparm_t> params(layout.samples);
  for (auto& p : params) {
    std::memset(&p, 0, sizeof(p));
    p.dx = 1;
    p.dy = 1;
    p.w = layout.columns;
    p.h = layout.rows;
    p.prec = precision;
    p.sgnd = layout.is_signed ? 1 : 0;
  }
  const auto colour = layout.samples == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY;
  std::unique_ptr<opj_image_t, ImageDeleter> image(
      opj_image_create(layout.samples, params.data(), colour));
  if (!image) {
    throw std::runtime_error("encode_jpeg2000: opj_image_create failed");
  }
  image->x0 = 0;
  image->y0 = 0;
  image->x1 = layout.columns;
  image->y1 = layout.rows;
  for (std::size_t c = 0; c < layout.samples; ++c) {
    std::copy(planes[c].begin(), planes[c].end(), image->comps[c].data);
  }

  opj_cparameters_t cp;
  opj_set_default_encoder_parameters(&cp);
  cp.tcp_numlayers = 1;
  cp.tcp_rates[0] = 0; // lossless for 5/3 (no truncation)
  cp.cp_disto_alloc = 1;
  cp.irreversible = options.irreversible ? 1 : 0;
  cp.tcp_mct = 0; // no colour transform: the photometric interpretation stays
  // Every resolution level needs at least one sample in each direction.
  int levels = 1;
  while (levels < 6 && (std::min(layout.rows, layout.columns) >> levels) >= 1) {
    ++levels;
  }
  cp.numresolution = levels;

  std::unique_ptr<opj_codec_t, CodecDeleter> codec(
      opj_create_compress(options.jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  if (!codec) {
    throw std::runtime_error("encode_jpeg2000: opj_create_compress failed");
  }
  std::string errors;
  opj_set_error_handler(codec.get(), on_error, &errors);
  opj_set_warning_handler(codec.get(), on_message, nullptr);
  opj_set_info_handler(codec.get(), on_message, nullptr);
  if (!opj_setup_encoder(codec.get(), &cp, image.get())) {
    throw std::runtime_error("encode_jpeg2000: opj_setup_encoder failed: " + errors);
  }
  Sink sink;
  std::unique_ptr<opj_stream_t, StreamDeleter> stream(
      opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE));
  if (!stream) {
    throw std::runtime_error("encode_jpeg2000: opj_stream_create failed");
  }
  opj_stream_set_user_data(stream.get(), &sink, nullptr);
  opj_stream_set_write_function(stream.get(), sink_write);
  opj_stream_set_skip_function(stream.get(), sink_skip);
  opj_stream_set_seek_function(stream.get(), sink_seek);
  if (!opj_start_compress(codec.get(), image.get(), stream.get())
      || !opj_encode(codec.get(), stream.get()) || !opj_end_compress(codec.get(), stream.get())) {
    throw std::runtime_error("encode_jpeg2000: encoding failed: " + errors);
  }
  stream.reset(); // flushes
  return sink.data;
}

} // namespace replica
