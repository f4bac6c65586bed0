// SPDX-License-Identifier: GPL-3.0-or-later
#include "nesting.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dctag.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace dicom {

namespace {

constexpr std::uint32_t k_undefined = 0xFFFFFFFF;
constexpr std::uint64_t k_open_end = UINT64_MAX;

struct Frame
{
  std::uint64_t end; // k_open_end: ends at its delimitation item
  bool implicit;     // encoding of what it contains
  bool sequence;     // a sequence (holds items) or an item (holds elements)
  bool fragments;    // encapsulated pixel data: items are raw bytes
};

class Walker
{
public:
  Walker(std::ifstream& in, std::uint64_t size, std::size_t max_depth)
      : m_in(in), m_size(size), m_max_depth(max_depth)
  {
  }

  // false only when nesting exceeds the limit.
  bool walk(std::uint64_t start, bool implicit, bool big_endian)
  {
    m_big = big_endian;
    m_pos = start;
    while (m_pos + 8 <= m_size) {
      while (!m_stack.empty() && m_stack.back().end != k_open_end && m_pos >= m_stack.back().end) {
        pop();
      }
      const bool here_implicit = m_stack.empty() ? implicit : m_stack.back().implicit;
      const bool in_fragments = !m_stack.empty() && m_stack.back().fragments;
      std::uint8_t h[8];
      if (!read(h, 8)) {
        return true;
      }
      const std::uint16_t group = u16(h);
      const std::uint16_t element = u16(h + 2);
      if (group == 0xFFFE) {
        const std::uint32_t length = u32(h + 4);
        if (element == 0xE000) { // item
          if (in_fragments) {    // a fragment: bytes, not a dataset (PS3.5 A.4)
            if (length == k_undefined) {
              return true; // malformed; DCMTK will say so
            }
            m_pos += length;
            continue;
          }
          m_stack.push_back(
              {length == k_undefined ? k_open_end : m_pos + length, here_implicit, false, false});
          continue;
        }
        if (element == 0xE00D || element == 0xE0DD) { // item / sequence delimitation
          if (!m_stack.empty()) {
            pop();
          }
          continue;
        }
        return true; // not a valid (FFFE,xxxx) tag: stop following
      }
      std::uint32_t length = 0;
      bool sequence = false;
      bool fragments = false;
      bool content_implicit = here_implicit;
      if (here_implicit) {
        length = u32(h + 4);
        const DcmTag tag(group, element);
        const DcmEVR vr = tag.getEVR();
        sequence = vr == EVR_SQ || (length == k_undefined && vr != EVR_OB && vr != EVR_OW);
        fragments = length == k_undefined && !sequence;
      } else {
        const char vr[3] = {static_cast<char>(h[4]), static_cast<char>(h[5]), 0};
        if (is_long_vr(vr)) {
          std::uint8_t l[4];
          if (!read(l, 4)) {
            return true;
          }
          length = u32(l);
        } else {
          length = m_big ? (std::uint32_t(h[6]) << 8 | h[7]) : (std::uint32_t(h[7]) << 8 | h[6]);
        }
        const std::string v(vr);
        sequence = v == "SQ" || (v == "UN" && length == k_undefined);
        // PS3.5 6.2.2: UN of undefined length is an implicit VR little endian sequence.
        content_implicit = v == "UN" && length == k_undefined ? true : here_implicit;
        fragments = length == k_undefined && (v == "OB" || v == "OW");
      }
      if (sequence || fragments) {
        if (sequence && ++m_depth > m_max_depth) {
          return false;
        }
        m_stack.push_back({length == k_undefined ? k_open_end : m_pos + length, content_implicit,
                           true, fragments});
        continue;
      }
      if (length == k_undefined) {
        return true; // undefined length on a plain value: malformed
      }
      m_pos += length;
    }
    return true;
  }

private:
  static bool is_long_vr(const char* vr)
  {
    static const char* const k_long[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                         "SV", "UC", "UN", "UR", "UT", "UV"};
    for (const char* l : k_long) {
      if (vr[0] == l[0] && vr[1] == l[1]) {
        return true;
      }
    }
    return false;
  }

  void pop()
  {
    if (m_stack.back().sequence && !m_stack.back().fragments && m_depth > 0) {
      --m_depth;
    }
    m_stack.pop_back();
  }

  bool read(std::uint8_t* out, std::size_t n)
  {
    if (m_pos + n > m_size) {
      return false;
    }
    m_in.seekg(static_cast<std::streamoff>(m_pos));
    if (!m_in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n))) {
      return false;
    }
    m_pos += n;
    return true;
  }

  std::uint16_t u16(const std::uint8_t* p) const
  {
    return m_big ? static_cast<std::uint16_t>(p[0] << 8 | p[1])
                 : static_cast<std::uint16_t>(p[1] << 8 | p[0]);
  }

  std::uint32_t u32(const std::uint8_t* p) const
  {
    return m_big ? (std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8
                    | p[3])
                 : (std::uint32_t(p[3]) << 24 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[1]) << 8
                    | p[0]);
  }

  std::ifstream& m_in;
  std::uint64_t m_size;
  std::size_t m_max_depth;
  std::uint64_t m_pos = 0;
  std::size_t m_depth = 0;
  bool m_big = false;
  std::vector<Frame> m_stack;
};

// The transfer syntax UID in a Part 10 meta group (explicit VR little
// endian, PS3.10 7.1) and where the dataset starts; empty when not found.
std::string
meta_transfer_syntax(std::ifstream& in, std::uint64_t size, std::uint64_t& dataset_start)
{
  std::uint64_t pos = 132;
  std::string ts;
  while (pos + 8 <= size) {
    std::uint8_t h[8];
    in.seekg(static_cast<std::streamoff>(pos));
    if (!in.read(reinterpret_cast<char*>(h), 8)) {
      break;
    }
    const std::uint16_t group = static_cast<std::uint16_t>(h[1] << 8 | h[0]);
    if (group != 0x0002) {
      break;
    }
    const std::uint16_t element = static_cast<std::uint16_t>(h[3] << 8 | h[2]);
    std::uint32_t length = 0;
    std::uint64_t header = 8;
    if ((h[4] == 'O' && h[5] == 'B') || (h[4] == 'U' && (h[5] == 'N' || h[5] == 'T'))) {
      std::uint8_t l[4];
      if (!in.read(reinterpret_cast<char*>(l), 4)) {
        break;
      }
      length =
          std::uint32_t(l[3]) << 24 | std::uint32_t(l[2]) << 16 | std::uint32_t(l[1]) << 8 | l[0];
      header = 12;
    } else {
      length = std::uint32_t(h[7]) << 8 | h[6];
    }
    if (length == k_undefined || pos + header + length > size) {
      break;
    }
    if (element == 0x0010 && length < 128) {
      std::string value(length, '\0');
      in.read(value.data(), length);
      while (!value.empty() && (value.back() == '\0' || value.back() == ' ')) {
        value.pop_back();
      }
      ts = value;
    }
    pos += header + length;
  }
  dataset_start = pos;
  return ts;
}

} // namespace

bool
nesting_within(const std::filesystem::path& file, std::size_t max_depth)
{
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  std::ifstream in(file, std::ios::binary);
  if (ec || !in) {
    return true; // unreadable: the caller's read reports it
  }
  char magic[4] = {};
  in.seekg(128);
  const bool part10 = size >= 132 && in.read(magic, 4) && std::memcmp(magic, "DICM", 4) == 0;
  in.clear();
  Walker walker(in, size, max_depth);
  if (part10) {
    std::uint64_t start = 0;
    const auto ts = meta_transfer_syntax(in, size, start);
    in.clear();
    const DcmXfer xfer(ts.c_str());
    if (xfer.getStreamCompression() != ESC_none) {
      return true; // deflated: not followed (PS3.5 A.5)
    }
    const bool implicit = ts.empty() ? false : !xfer.isExplicitVR();
    const bool big = !ts.empty() && xfer.getByteOrder() == EBO_BigEndian;
    return walker.walk(start, implicit, big);
  }
  // A raw dataset: guess the encoding from its first element, as DCMTK does.
  std::uint8_t h[6] = {};
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(h), 6)) {
    return true;
  }
  in.clear();
  const bool big = h[0] == 0x00 && h[1] != 0x00; // group 0x0008 written as 00 08
  const bool explicit_vr = std::isupper(h[4]) && std::isupper(h[5]);
  return walker.walk(0, !explicit_vr, big);
}

} // namespace dicom
