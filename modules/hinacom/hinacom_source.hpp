// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <source/source.hpp>

#include <memory>

// The Hinacom "split DICOM" viewer and its three front doors
// (platforms.md 3.1-3.3).
namespace hinacom {

enum class Door {
  medicalimagecloud, // https://<sub>.medicalimagecloud.com/t/<32 hex>, password
  cq12320,           // https://mdmis.cq12320.cn/...#/share/detail?share_id=&content=
  jdyfy,             // http://cloudpacs.jdyfy.com:<port>/...?idType=...
};

bool accepts(Door door, const std::string& url);

// Options: "keepalive" (seconds between renewcacauth calls, default 60),
// "threads" (instances fetched at once, default 4).
std::unique_ptr<source::Source> make(Door door, const source::Options& options);

} // namespace hinacom
