// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <store/find.hpp>

#include <cstring>

namespace net::internal {

enum class QrService { none, find, move, get };

struct QrClass
{
  QrService service = QrService::none;
  store::Model model = store::Model::study_root;
};

// The Query/Retrieve SOP classes (PS3.4 C.6.1.3, C.6.2.3, C.6.3.3).
inline QrClass
qr_class(const char* uid)
{
  struct Entry
  {
    const char* uid;
    QrClass cls;
  };
  static const Entry k_entries[] = {
      {"1.2.840.10008.5.1.4.1.2.1.1", {QrService::find, store::Model::patient_root}},
      {"1.2.840.10008.5.1.4.1.2.1.2", {QrService::move, store::Model::patient_root}},
      {"1.2.840.10008.5.1.4.1.2.1.3", {QrService::get, store::Model::patient_root}},
      {"1.2.840.10008.5.1.4.1.2.2.1", {QrService::find, store::Model::study_root}},
      {"1.2.840.10008.5.1.4.1.2.2.2", {QrService::move, store::Model::study_root}},
      {"1.2.840.10008.5.1.4.1.2.2.3", {QrService::get, store::Model::study_root}},
      {"1.2.840.10008.5.1.4.1.2.3.1", {QrService::find, store::Model::patient_study_only}},
      {"1.2.840.10008.5.1.4.1.2.3.2", {QrService::move, store::Model::patient_study_only}},
      {"1.2.840.10008.5.1.4.1.2.3.3", {QrService::get, store::Model::patient_study_only}},
  };
  for (const auto& e : k_entries) {
    if (std::strcmp(uid, e.uid) == 0) {
      return e.cls;
    }
  }
  return {};
}

} // namespace net::internal
