// SPDX-License-Identifier: GPL-3.0-or-later
#include "openjpeg_memory.hpp"

#include <core/log.hpp>

#include <algorithm>
#include <cstring>

namespace dicom::openjpeg {

namespace {

struct MemorySource
{
  const std::uint8_t* data;
  std::size_t size;
  std::size_t position = 0;
};

OPJ_SIZE_T
source_read(void* buffer, OPJ_SIZE_T n, void* user)
{
  auto& src = *static_cast<MemorySource*>(user);
  if (src.position >= src.size) {
    return static_cast<OPJ_SIZE_T>(-1); // end of stream, as OpenJPEG expects
  }
  const std::size_t count = std::min<std::size_t>(n, src.size - src.position);
  std::memcpy(buffer, src.data + src.position, count);
  src.position += count;
  return count;
}

OPJ_OFF_T
source_skip(OPJ_OFF_T n, void* user)
{
  auto& src = *static_cast<MemorySource*>(user);
  if (n < 0) {
    const auto back = std::min<std::size_t>(static_cast<std::size_t>(-n), src.position);
    src.position -= back;
    return -static_cast<OPJ_OFF_T>(back);
  }
  const auto forward = std::min<std::size_t>(static_cast<std::size_t>(n), src.size - src.position);
  src.position += forward;
  return static_cast<OPJ_OFF_T>(forward);
}

OPJ_BOOL
source_seek(OPJ_OFF_T n, void* user)
{
  auto& src = *static_cast<MemorySource*>(user);
  if (n < 0 || static_cast<std::uint64_t>(n) > src.size) {
    return OPJ_FALSE;
  }
  src.position = static_cast<std::size_t>(n);
  return OPJ_TRUE;
}

// The first few errors are kept (the first is usually the cause, later ones
// the consequences); all go to the debug log.
struct Errors
{
  std::string text;
  int count = 0;
};

void
on_error(const char* message, void* user)
{
  auto& errors = *static_cast<Errors*>(user);
  std::string line(message);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) {
    line.pop_back();
  }
  CF_LOG(debug, "dicom", "OpenJPEG error: " << line);
  if (errors.count < 3) {
    errors.text += (errors.count == 0 ? "" : "; ") + line;
  }
  ++errors.count;
}

void
on_warning(const char* message, void*)
{
  CF_LOG(debug, "dicom", "OpenJPEG warning: " << message);
}

void
on_info(const char*, void*)
{
}

struct CodecDeleter
{
  void operator()(opj_codec_t* p) const
  {
    opj_destroy_codec(p);
  }
};

struct StreamDeleter
{
  void operator()(opj_stream_t* p) const
  {
    opj_stream_destroy(p);
  }
};

} // namespace

bool
is_jp2(const std::uint8_t* data, std::size_t size)
{
  static constexpr std::uint8_t k_signature[] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50,
                                                 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
  return data != nullptr && size >= sizeof k_signature
         && std::memcmp(data, k_signature, sizeof k_signature) == 0;
}

Image
decode(const std::uint8_t* data, std::size_t size, std::string& error, const Expected* expected)
{
  Errors errors;
  const auto failed = [&](const char* what) {
    error = std::string(what) + ": " + (errors.count == 0 ? std::string("corrupt data") : errors.text);
    return Image();
  };
  std::unique_ptr<opj_codec_t, CodecDeleter> codec(
    opj_create_decompress(is_jp2(data, size) ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  std::unique_ptr<opj_stream_t, StreamDeleter> stream(
    opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE));
  if (!codec || !stream) {
    return failed("cannot create the OpenJPEG decoder");
  }
  opj_set_error_handler(codec.get(), on_error, &errors);
  opj_set_warning_handler(codec.get(), on_warning, nullptr);
  opj_set_info_handler(codec.get(), on_info, nullptr);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  if (!opj_setup_decoder(codec.get(), &parameters)) {
    return failed("cannot set up the decoder");
  }
  MemorySource source{data, size};
  opj_stream_set_user_data(stream.get(), &source, nullptr);
  opj_stream_set_user_data_length(stream.get(), size);
  opj_stream_set_read_function(stream.get(), source_read);
  opj_stream_set_skip_function(stream.get(), source_skip);
  opj_stream_set_seek_function(stream.get(), source_seek);

  opj_image_t* raw = nullptr;
  const bool header_ok = opj_read_header(stream.get(), codec.get(), &raw);
  Image image(raw);
  if (!header_ok || !image) {
    return failed("cannot read codestream header");
  }
  // ISO/IEC 15444-1 A.5.1: the reference grid minus the image offset.
  const std::uint64_t width = image->x1 > image->x0 ? image->x1 - image->x0 : 0;
  const std::uint64_t height = image->y1 > image->y0 ? image->y1 - image->y0 : 0;
  const auto declared = std::to_string(width) + "x" + std::to_string(height) + "x"
                        + std::to_string(image->numcomps);
  if (expected != nullptr) {
    if (width != expected->width || height != expected->height
        || image->numcomps != expected->components) {
      error = "the codestream is " + declared + ", the dataset says "
              + std::to_string(expected->width) + "x" + std::to_string(expected->height) + "x"
              + std::to_string(expected->components);
      return Image();
    }
  } else if (width == 0 || height == 0 || width > 0xFFFF || height > 0xFFFF || image->numcomps > 4) {
    error = "the codestream is " + declared + ", larger than DICOM allows";
    return Image();
  }
  if (!opj_decode(codec.get(), stream.get(), image.get())
      || !opj_end_decompress(codec.get(), stream.get())) {
    return failed("cannot decode codestream");
  }
  return image;
}

} // namespace dicom::openjpeg
