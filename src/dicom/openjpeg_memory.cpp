// SPDX-License-Identifier: GPL-3.0-or-later
#include "openjpeg_memory.hpp"

#include "jpeg2000_stream.hpp"

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

void
on_info(const char*, void*)
{
}

struct CodecDeleter
{
  void operator()(opj_codec_t* p) const { opj_destroy_codec(p); }
};

struct StreamDeleter
{
  void operator()(opj_stream_t* p) const { opj_stream_destroy(p); }
};

} // namespace

// The first few errors are kept (the first is usually the cause, later ones
// the consequences); all go to the debug log. Nothing may throw out of a C
// callback, so a failure to record one is dropped.
void
on_error(const char* message, void* user) noexcept
{
  try {
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
  } catch (...) {
  }
}

void
on_warning(const char* message, void*) noexcept
{
  try {
    CF_LOG(debug, "dicom", "OpenJPEG warning: " << std::string(message));
  } catch (...) {
  }
}

std::optional<std::string>
refuse_size(std::uint64_t width, std::uint64_t height, std::uint64_t components, unsigned precision,
            const Expected& expected)
{
  const auto dims = [](std::uint64_t w, std::uint64_t h, std::uint64_t c) {
    return std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(c);
  };
  const auto differs = [](std::uint64_t got, std::uint32_t want) {
    return want != 0 && got != want;
  };
  if (differs(width, expected.width) || differs(height, expected.height)
      || differs(components, expected.components)) {
    return "the codestream declares " + dims(width, height, components)
           + " (columns x rows x samples), the dataset says "
           + dims(expected.width, expected.height, expected.components);
  }
  if (expected.max_precision != 0 && precision > expected.max_precision) {
    return "the codestream declares " + std::to_string(precision)
           + "-bit samples, more than BitsAllocated " + std::to_string(expected.max_precision);
  }
  // No overflow: each factor is below 2^32 and the first product is checked.
  if (width == 0 || height == 0 || components == 0 || width * height > k_max_samples
      || width * height * components > k_max_samples) {
    return "the codestream declares " + dims(width, height, components) + " samples, outside 1 to "
           + std::to_string(k_max_samples);
  }
  return std::nullopt;
}

bool
is_jp2(const std::uint8_t* data, std::size_t size)
{
  return data != nullptr
         && is_jp2_file(std::string_view(reinterpret_cast<const char*>(data), size));
}

Image
decode(const std::uint8_t* data, std::size_t size, const Expected& expected, std::string& error)
{
  Errors errors;
  const auto failed = [&](const char* what) {
    error =
        std::string(what) + ": " + (errors.count == 0 ? std::string("corrupt data") : errors.text);
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
  unsigned precision = 0;
  for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
    precision = std::max<unsigned>(precision, image->comps[c].prec);
  }
  if (const auto refusal = refuse_size(std::uint64_t{image->x1} - std::min(image->x0, image->x1),
                                       std::uint64_t{image->y1} - std::min(image->y0, image->y1),
                                       image->numcomps, precision, expected)) {
    error = *refusal;
    return Image();
  }
  if (!opj_decode(codec.get(), stream.get(), image.get())
      || !opj_end_decompress(codec.get(), stream.get())) {
    return failed("cannot decode codestream");
  }
  return image;
}

} // namespace dicom::openjpeg
