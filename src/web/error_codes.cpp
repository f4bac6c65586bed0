// SPDX-License-Identifier: GPL-3.0-or-later
// Error categories of source/, http/, store/ and dicom/ as API error codes.
#include "error_codes.hpp"

#include <core/fs.hpp>
#include <dicom/errors.hpp>
#include <http/errors.hpp>
#include <source/source.hpp>
#include <store/errors.hpp>

namespace web {

ApiError
api_error(const core::Error& error)
{
  const auto& code = error.code;
  if (code.category() == source::error_category()) {
    switch (static_cast<source::Errc>(code.value())) {
    case source::Errc::unsupported_url:
      return {400, "unsupported_link"};
    case source::Errc::bad_request:
      if (error.message().find("password") != std::string::npos) {
        return {400, "needs_password"};
      }
      return {400, "bad_request"};
    case source::Errc::auth_rejected:
      return {403, "wrong_password"};
    case source::Errc::link_expired:
      return {410, "link_expired"};
    case source::Errc::upstream_changed:
      return {502, "platform_changed"};
    case source::Errc::cancelled:
      return {409, "cancelled"};
    }
  }
  if (code.category() == http::error_category()) {
    return {502, "network"};
  }
  if (code == store::Errc::disk_full || code == store::Errc::limit_reached
      || core::fs::is_disk_full(code)) {
    return {507, "storage_full"};
  }
  if (code == store::Errc::not_found) {
    return {404, "not_found"};
  }
  if (code.category() == dicom::error_category()) {
    return {400, "bad_request"};
  }
  return {500, "internal"};
}

} // namespace web
