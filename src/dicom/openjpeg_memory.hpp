// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <openjpeg.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

// Internal to dicom/: decoding a JPEG 2000 codestream (or JP2 file) held in
// memory with OpenJPEG, shared by the DcmCodec and the reassembly check.
namespace dicom::openjpeg {

struct ImageDeleter
{
  void operator()(opj_image_t* image) const { opj_image_destroy(image); }
};
using Image = std::unique_ptr<opj_image_t, ImageDeleter>;

// Largest image decoded, in samples (width x height x components):
// OpenJPEG holds every sample in 32 bits, so this is 1 GiB of buffers. A
// 16384 x 16384 monochrome film fits; tiled slides come as frames.
constexpr std::uint64_t k_max_samples = std::uint64_t{1} << 28;

// What the dataset says the image is (PS3.3 C.7.6.3). OpenJPEG sizes its
// buffers from the SIZ marker alone, so a few bytes declaring 60000 x 60000
// would make it allocate gigabytes: the main header is compared with this
// before anything is decoded. A zero field is not compared.
struct Expected
{
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint32_t components = 0;
  unsigned max_precision = 0;
};

// Why an image of `width` x `height` x `components` at `precision` bits
// (the largest of its components) may not be decoded for `expected`, or
// nothing. Also used by the reassembly on its own SIZ parse.
std::optional<std::string> refuse_size(std::uint64_t width, std::uint64_t height,
                                       std::uint64_t components, unsigned precision,
                                       const Expected& expected);

// Decode `size` bytes at `data` completely: a JP2 file when it starts with
// the JP2 signature box, else a raw codestream. The main header is checked
// against `expected` and k_max_samples first. On failure returns nullptr
// and sets `error` to the refusal or OpenJPEG's first complaints ("corrupt
// data" if it gave none). Thread-safe (no shared state).
Image decode(const std::uint8_t* data, std::size_t size, const Expected& expected,
             std::string& error);

// The message callbacks handed to OpenJPEG, declared for the tests: they
// must not let an exception (bad_alloc) unwind through OpenJPEG's C frames.
// `user` of on_error is an Errors.
struct Errors
{
  std::string text;
  int count = 0;
};
void on_error(const char* message, void* user) noexcept;
void on_warning(const char* message, void* user) noexcept;

// True if `data` starts with the JP2 signature box (ISO/IEC 15444-1 I.5.1).
bool is_jp2(const std::uint8_t* data, std::size_t size);

} // namespace dicom::openjpeg
