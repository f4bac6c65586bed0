// SPDX-License-Identifier: GPL-3.0-or-later
#include "crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

namespace core {

namespace {

const EVP_CIPHER*
cipher_for(std::size_t key_size, AesMode mode)
{
  switch (key_size) {
  case 16:
    return mode == AesMode::ecb ? EVP_aes_128_ecb() : EVP_aes_128_cbc();
  case 24:
    return mode == AesMode::ecb ? EVP_aes_192_ecb() : EVP_aes_192_cbc();
  case 32:
    return mode == AesMode::ecb ? EVP_aes_256_ecb() : EVP_aes_256_cbc();
  default:
    return nullptr;
  }
}

} // namespace

std::optional<std::string>
aes(bool encrypt, std::string_view in, std::string_view key, std::string_view iv, AesMode mode)
{
  const auto* cipher = cipher_for(key.size(), mode);
  if (cipher == nullptr || (mode == AesMode::cbc && iv.size() != 16)) {
    return std::nullopt;
  }
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  const auto* v =
      mode == AesMode::cbc ? reinterpret_cast<const unsigned char*>(iv.data()) : nullptr;
  if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, k, v, encrypt ? 1 : 0) != 1) {
    return std::nullopt;
  }
  std::string out(in.size() + 32, '\0');
  int n = 0;
  int tail = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_CipherUpdate(ctx.get(), o, &n, reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size()))
          != 1
      || EVP_CipherFinal_ex(ctx.get(), o + n, &tail) != 1) { // checks PKCS#7 on decrypt
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(n + tail));
  return out;
}

std::string
sha256(std::string_view data)
{
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out, &size, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string
random_bytes(std::size_t n)
{
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return {};
  }
  return out;
}

std::string
pbkdf2_sha256(std::string_view password, std::string_view salt, int iterations, std::size_t length)
{
  std::string out(length, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(length), reinterpret_cast<unsigned char*>(out.data()))
      != 1) {
    return {};
  }
  return out;
}

bool
equal_constant_time(std::string_view a, std::string_view b)
{
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace core
