// SPDX-License-Identifier: GPL-3.0-or-later
// The symmetric crypto cloud platforms use to wrap their answers, on
// OpenSSL EVP: one helper for every module (and test replica).
#pragma once

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

} // namespace core
