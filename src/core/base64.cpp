// SPDX-License-Identifier: GPL-3.0-or-later
#include "base64.hpp"

#include <array>
#include <cstdint>

namespace core {

namespace {

const char* const k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

} // namespace

std::string
base64_encode(std::string_view bytes)
{
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto at = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += k_alphabet[v >> 18 & 63];
    out += k_alphabet[v >> 12 & 63];
    out += k_alphabet[v >> 6 & 63];
    out += k_alphabet[v & 63];
  }
  if (const auto rest = bytes.size() - i; rest > 0) {
    const auto v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
    out += k_alphabet[v >> 18 & 63];
    out += k_alphabet[v >> 12 & 63];
    out += rest == 2 ? k_alphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

bool
base64_decode(std::string_view in, std::string& out)
{
  static const auto k_table = [] {
    std::array<signed char, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) {
      t[static_cast<unsigned char>(k_alphabet[i])] = static_cast<signed char>(i);
    }
    return t;
  }();
  out.clear();
  out.reserve(in.size() / 4 * 3);
  std::uint32_t bits = 0;
  int count = 0;
  bool padding = false;
  for (const char c : in) {
    if (c == '=') {
      padding = true;
      continue;
    }
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
      continue;
    }
    const int v = k_table[static_cast<unsigned char>(c)];
    if (v < 0 || padding) {
      return false;
    }
    bits = bits << 6 | static_cast<std::uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>(bits >> 16));
      out.push_back(static_cast<char>(bits >> 8));
      out.push_back(static_cast<char>(bits));
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) {
    return false;
  }
  if (count == 2) {
    out.push_back(static_cast<char>(bits >> 4));
  } else if (count == 3) {
    out.push_back(static_cast<char>(bits >> 10));
    out.push_back(static_cast<char>(bits >> 2));
  }
  return true;
}

} // namespace core
