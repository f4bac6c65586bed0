// SPDX-License-Identifier: GPL-3.0-or-later
// The symmetric crypto cloud platforms use to wrap their answers, and the
// hashes and random numbers of the HTTP side's accounts, on OpenSSL EVP.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace core {

enum class AesMode { ecb, cbc };

// AES-128/192/256 (by key size) in `mode` with PKCS#7 padding; `iv` is 16
// bytes for CBC and ignored for ECB. nullopt for a bad key or IV size, or
// (decrypting) bad padding.
std::optional<std::string> aes(bool encrypt, std::string_view in, std::string_view key,
                               std::string_view iv, AesMode mode);

// SHA-256 of `data`, 32 raw bytes.
std::string sha256(std::string_view data);

// `n` bytes from the OpenSSL CSPRNG (RAND_bytes); empty if it failed.
std::string random_bytes(std::size_t n);

// PBKDF2-HMAC-SHA256 (RFC 8018), `length` raw bytes.
std::string pbkdf2_sha256(std::string_view password, std::string_view salt, int iterations,
                          std::size_t length);

// Equality in time independent of where the first difference is (CRYPTO_memcmp).
bool equal_constant_time(std::string_view a, std::string_view b);

} // namespace core
