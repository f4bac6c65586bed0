// SPDX-License-Identifier: GPL-3.0-or-later
// The DICOMweb origin server under /dicom-web (PS3.18): QIDO-RS searches
// (qido.cpp), WADO-RS retrieval of instances, metadata and frames
// (dicomweb.cpp), on the same index and files as the DICOM side.
#pragma once

#include "message.hpp"

#include <store/find.hpp>
#include <store/ingest.hpp>
#include <store/query.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace web::dicomweb {

struct SearchContext
{
  store::Query* query = nullptr;
  store::Level level = store::Level::study;
  std::map<std::uint32_t, std::string> fixed; // UIDs from the path
  std::string root;                           // "/dicom-web", for RetrieveURL
};

// QIDO-RS (PS3.18 10.6): 200 with a JSON array, 204 when nothing matches.
Response search(const SearchContext& ctx, const Request& request);

// The tag of a QIDO attribute keyword or 8-hex-digit tag this node knows.
std::optional<std::uint32_t> tag_of_keyword(const std::string& name);

struct Context
{
  store::Query* query = nullptr;
  store::IngestSink* sink = nullptr; // stored files, spool paths for conversions
  std::string fallback_charset = "GB18030";
};

// STOW-RS (PS3.18 10.5) of the upload in request.body_file; `study` from
// POST /studies/{study}, or empty.
Response store_instances(const Context& ctx, const Request& request, const std::string& study);

// Every /dicom-web/... request; `segments` are the path's parts after
// "dicom-web".
Response handle(const Context& ctx, const Request& request,
                const std::vector<std::string>& segments);

} // namespace web::dicomweb
