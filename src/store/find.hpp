// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

// C-FIND and retrieve requests against the index (PS3.4 C.4.1, C.6), in
// plain types: tags as (group << 16 | element), values UTF-8.
namespace store {

enum class Level { patient, study, series, image };

enum class Model {
  patient_root,       // PS3.4 C.6.1
  study_root,         // PS3.4 C.6.2
  patient_study_only, // PS3.4 C.6.3 (retired)
};

// One key of an identifier: the value as received (decoded to UTF-8), with
// padding removed. An empty value asks for the attribute (universal match).
struct FindKey
{
  std::uint32_t tag = 0;
  std::string value;
  bool is_sequence = false;
};

struct FindRequest
{
  Model model = Model::study_root;
  Level level = Level::study;
  std::vector<FindKey> keys;
  // Extended negotiation (PS3.4 C.5.1.1.2): StudyDate and StudyTime ranges
  // are matched as one date-time range.
  bool combined_datetime = false;
  // Relational queries negotiated (C.5.1.1.2 byte 0, C.4.1.2.2): unique keys
  // above the level may hold lists and wildcards.
  bool relational = false;
  // Paging for the HTTP side (QIDO-RS limit/offset, PS3.18 8.3.4.4): at most
  // `limit` matches (0: all) after skipping `offset`, in the level's order;
  // FindResult.total then counts every match.
  std::size_t limit = 0;
  std::size_t offset = 0;
};

// One match: a value (possibly empty) for every key of the request that the
// index knows, in request order. Multi-valued values are '\'-separated.
struct FindMatch
{
  std::vector<std::pair<std::uint32_t, std::string>> values;
};

struct FindResult
{
  std::vector<FindMatch> matches;
  // Keys of the request the index cannot match on or return (PS3.4 C.4.1.1.3.1:
  // "optional keys not supported", status FF01).
  std::vector<std::uint32_t> unsupported;
  // A unique key above the level was absent and matched everything (the
  // lenient answer of C.4.1.2.1, as Orthanc and dcmqrscp give it).
  bool relaxed = false;
  // Every match before paging (equals matches.size() without a limit).
  std::size_t total = 0;
};

// What was wrong with a request, for the failure status and its comment.
enum class FindErrc {
  bad_level = 1,  // level unknown or not allowed in this model
  bad_unique_key, // a unique key above the level missing, listed or wildcarded
  bad_value,      // a value that cannot be matched (malformed range, ...)
  missing_level,  // no QueryRetrieveLevel (0008,0052)
  bad_charset,    // SpecificCharacterSet of the identifier cannot be decoded
};

const std::error_category& find_error_category();
std::error_code make_error_code(FindErrc e);

// One instance to retrieve (C-GET / C-MOVE sub-operation).
struct RetrieveItem
{
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string transfer_syntax_uid;
  std::filesystem::path path; // absolute
};

} // namespace store

template <> struct std::is_error_code_enum<store::FindErrc> : std::true_type
{
};
