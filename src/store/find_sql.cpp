// SPDX-License-Identifier: GPL-3.0-or-later
// Over 600 lines on purpose: one concern, a C-FIND/C-MOVE identifier as one SQL statement
// (PS3.4 C.2.2.2 matching rules, C.4.1.2 unique keys), with its attribute table.
#include "find_sql.hpp"

#include <core/error_category.hpp>
#include <core/strings.hpp>

#include <algorithm>

namespace store::sql {

namespace {

enum class Kind {
  text,        // exact or wildcard (PS3.4 C.2.2.2.1, C.2.2.2.4)
  uid,         // exact or list of UIDs (C.2.2.2.2)
  pn,          // case-insensitive, any component group; norm = prefix of 3 columns
  pn_combined, // the same over one normalised "A=I=P" column
  date,        // exact or range (C.2.2.2.5)
  time,        // exact or range
  integer,     // exact
  count,       // computed NumberOf*, exact
  modalities,  // ModalitiesInStudy: any of the listed values (C.2.2.2.7? multi-value)
  sop_classes, // SOPClassesInStudy
};

struct Attribute
{
  std::uint32_t tag;
  Level level;
  Kind kind;
  const char* expr;      // value returned
  const char* norm = ""; // pn: prefix of the three normalised columns ("p.name_");
                         // pn_combined: the one "A=I=P" column
};

// Aliases: p patients, st studies, s series, i instances.
constexpr const char* k_institution_of_study =
    "(SELECT institution_name FROM series WHERE study_fk = st.id AND institution_name != '' LIMIT "
    "1)";
constexpr const char* k_performing_of_study = "(SELECT performing_physician FROM series WHERE "
                                              "study_fk = st.id AND performing_physician != '' "
                                              "LIMIT 1)";
constexpr const char* k_modalities_of_study = "(SELECT group_concat(m, '\\') FROM (SELECT DISTINCT "
                                              "modality AS m FROM series WHERE study_fk = "
                                              "st.id AND modality != '' ORDER BY m))";
constexpr const char* k_sop_classes_of_study =
    "(SELECT group_concat(c, '\\') FROM (SELECT DISTINCT i2.sop_class_uid AS c FROM instances i2 "
    "JOIN series s2 ON s2.id = i2.series_fk WHERE s2.study_fk = st.id ORDER BY c))";

const Attribute k_attributes[] = {
    // Patient (PS3.4 C.6.1.1.2)
    {0x00100010, Level::patient, Kind::pn, "p.patient_name", "p.name_"},
    {0x00100020, Level::patient, Kind::text, "p.patient_id"},
    {0x00100021, Level::patient, Kind::text, "p.issuer_of_patient_id"},
    {0x00100030, Level::patient, Kind::date, "p.birth_date"},
    {0x00100040, Level::patient, Kind::text, "p.sex"},
    {0x00201200, Level::patient, Kind::count, "p.num_studies"},
    {0x00201202, Level::patient, Kind::count, "p.num_series"},
    {0x00201204, Level::patient, Kind::count, "p.num_instances"},
    // Study (C.6.1.1.3)
    {0x0020000D, Level::study, Kind::uid, "st.study_uid"},
    {0x00080020, Level::study, Kind::date, "st.study_date"},
    {0x00080030, Level::study, Kind::time, "st.study_time"},
    {0x00080050, Level::study, Kind::text, "st.accession_number"},
    {0x00200010, Level::study, Kind::text, "st.study_id"},
    {0x00081030, Level::study, Kind::text, "st.description"},
    {0x00080090, Level::study, Kind::pn_combined, "st.referring_physician", "st.referring_norm"},
    {0x00101010, Level::study, Kind::text, "st.patient_age"},
    {0x00080061, Level::study, Kind::modalities, k_modalities_of_study},
    // Horos sends Modality at STUDY level and means ModalitiesInStudy.
    {0x00080060, Level::study, Kind::modalities, k_modalities_of_study},
    {0x00080062, Level::study, Kind::sop_classes, k_sop_classes_of_study},
    {0x00201206, Level::study, Kind::count, "st.num_series"},
    {0x00201208, Level::study, Kind::count, "st.num_instances"},
    {0x00080080, Level::study, Kind::text, k_institution_of_study},
    {0x00081050, Level::study, Kind::text, k_performing_of_study},
    // Series (C.6.1.1.4)
    {0x0020000E, Level::series, Kind::uid, "s.series_uid"},
    {0x00080060, Level::series, Kind::text, "s.modality"},
    {0x00200011, Level::series, Kind::integer, "s.series_number"},
    {0x0008103E, Level::series, Kind::text, "s.description"},
    {0x00080021, Level::series, Kind::date, "s.series_date"},
    {0x00080031, Level::series, Kind::time, "s.series_time"},
    {0x00180015, Level::series, Kind::text, "s.body_part"},
    {0x00081050, Level::series, Kind::pn_combined, "s.performing_physician", "s.performing_norm"},
    {0x00080080, Level::series, Kind::text, "s.institution_name"},
    {0x00181030, Level::series, Kind::text, "s.protocol_name"},
    {0x00081010, Level::series, Kind::text, "s.station_name"},
    {0x00080070, Level::series, Kind::text, "s.manufacturer"},
    {0x00201209, Level::series, Kind::count, "s.num_instances"},
    // Composite object instance (C.6.1.1.5)
    {0x00080018, Level::image, Kind::uid, "i.sop_uid"},
    {0x00080016, Level::image, Kind::uid, "i.sop_class_uid"},
    {0x00200013, Level::image, Kind::integer, "i.instance_number"},
    {0x00080012, Level::image, Kind::date, "i.creation_date"},
    {0x00080013, Level::image, Kind::time, "i.creation_time"},
    {0x00080023, Level::image, Kind::date, "i.content_date"},
    {0x00080033, Level::image, Kind::time, "i.content_time"},
    {0x00204000, Level::image, Kind::text, "i.image_comments"},
    {0x00280008, Level::image, Kind::integer, "i.number_of_frames"},
    {0x00280010, Level::image, Kind::integer, "i.rows"},
    {0x00280011, Level::image, Kind::integer, "i.columns"},
    {0x00083002, Level::image, Kind::uid, "i.transfer_syntax"},
};

constexpr std::uint32_t k_patient_id = 0x00100020;
constexpr std::uint32_t k_study_uid = 0x0020000D;
constexpr std::uint32_t k_series_uid = 0x0020000E;
constexpr std::uint32_t k_sop_uid = 0x00080018;
constexpr std::uint32_t k_study_date = 0x00080020;
constexpr std::uint32_t k_study_time = 0x00080030;

// In the Study Root model patient attributes belong to the study level.
Level
effective_level(const Attribute& a, Model model)
{
  if (model == Model::study_root && a.level == Level::patient) {
    return Level::study;
  }
  return a.level;
}

// The attribute for `tag` that is visible at `level`: the deepest one not
// below the level (InstitutionName exists at study and series level).
const Attribute*
find_attribute(std::uint32_t tag, Level level, Model model)
{
  const Attribute* best = nullptr;
  for (const auto& a : k_attributes) {
    if (a.tag == tag && effective_level(a, model) <= level) {
      if (best == nullptr || a.level > best->level) {
        best = &a;
      }
    }
  }
  return best;
}

bool
has_wildcard(const std::string& v)
{
  return v.find_first_of("*?") != std::string::npos;
}

// A DICOM wildcard pattern as a GLOB pattern: '*' and '?' keep their
// meaning, GLOB's own '[' and ']' become literal.
std::string
to_glob(const std::string& v)
{
  std::string out;
  for (const char c : v) {
    if (c == '[') {
      out += "[[]";
    } else if (c == ']') {
      out += "[]]";
    } else {
      out += c;
    }
  }
  return out;
}

// Normalise one PN component group of a query like the index does, keeping
// wildcards: ASCII upper case, trailing '^' and spaces dropped unless the
// pattern ends in a wildcard.
std::string
normalise_pn_group(std::string_view group)
{
  auto out = core::to_upper_ascii(core::trim(group));
  while (!out.empty() && (out.back() == '^' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

class Builder
{
public:
  explicit Builder(Statement& st) : m_st(st) {}

  std::string param(std::string value)
  {
    m_st.params.push_back(std::move(value));
    return "?";
  }

  // Equality or GLOB of `expr` against `value`.
  std::string text_match(const std::string& expr, const std::string& value)
  {
    if (has_wildcard(value)) {
      if (value.find_first_not_of('*') == std::string::npos) {
        return ""; // '*' alone is universal matching
      }
      return expr + " GLOB " + param(to_glob(value));
    }
    return expr + " = " + param(value);
  }

  // A condition that turns out universal ("CT\\*": any modality) adds no
  // SQL, so it must leave no parameters behind either: every '?' in the
  // statement has exactly one value (found by fuzz_find).
  core::Result<std::string> match(const Attribute& a, const std::string& value, Model model)
  {
    const auto mark = m_st.params.size();
    auto cond = match_unchecked(a, value, model);
    if (!cond || cond->empty()) {
      m_st.params.resize(mark);
    }
    return cond;
  }

  core::Result<std::string> match_unchecked(const Attribute& a, const std::string& value, Model)
  {
    switch (a.kind) {
    case Kind::text:
      return text_match(a.expr, value);
    case Kind::uid: {
      // List of UID matching, C.2.2.2.2.
      const auto uids = core::split(value, '\\');
      if (uids.size() == 1) {
        return std::string(a.expr) + " = " + param(std::string(core::trim(uids[0])));
      }
      std::string in;
      for (const auto& u : uids) {
        in += (in.empty() ? "" : ", ") + param(std::string(core::trim(u)));
      }
      return std::string(a.expr) + " IN (" + in + ")";
    }
    case Kind::pn:
      return pn_match(a, value);
    case Kind::pn_combined:
      return pn_combined_match(a, value);
    case Kind::date:
    case Kind::time:
      return range_match(a.expr, value, a.kind == Kind::time);
    case Kind::integer:
    case Kind::count: {
      char* end = nullptr;
      const auto trimmed = std::string(core::trim(value));
      const long n = std::strtol(trimmed.c_str(), &end, 10);
      if (trimmed.empty() || *end != '\0') {
        return core::make_error(FindErrc::bad_value, "not an integer: " + trimmed);
      }
      return std::string(a.expr) + " = " + param(std::to_string(n));
    }
    case Kind::modalities: {
      // Multiple values: a study matches if any series has any of them.
      std::string any;
      for (const auto& m : core::split(value, '\\')) {
        const auto mod = std::string(core::trim(m));
        if (mod.empty()) {
          continue;
        }
        const auto cond = text_match("s2.modality", mod);
        if (cond.empty()) {
          return std::string(); // '*' among the values: universal
        }
        any += (any.empty() ? "" : " OR ") + cond;
      }
      if (any.empty()) {
        return std::string();
      }
      return "EXISTS (SELECT 1 FROM series s2 WHERE s2.study_fk = st.id AND (" + any + "))";
    }
    case Kind::sop_classes: {
      std::string in;
      for (const auto& c : core::split(value, '\\')) {
        in += (in.empty() ? "" : ", ") + param(std::string(core::trim(c)));
      }
      return "EXISTS (SELECT 1 FROM instances i2 JOIN series s2 ON s2.id = i2.series_fk WHERE "
             "s2.study_fk = st.id AND i2.sop_class_uid IN ("
             + in + "))";
    }
    }
    return std::string();
  }

  // PN (C.2.2.2.1, C.2.2.2.4): case-insensitive. A query without '=' matches
  // any component group (alphabetic, ideographic or phonetic); with '=',
  // every non-empty group must match its counterpart.
  // As pn_match, over one column holding the normalised groups as "A=I=P":
  // the query becomes a GLOB pattern with '*' for the groups it leaves open.
  std::string pn_combined_match(const Attribute& a, const std::string& value)
  {
    const auto groups = core::split(value, '=');
    const auto pattern = [&](const std::vector<std::string>& q) {
      return std::string(a.norm) + " GLOB " + param(to_glob(q[0] + "=" + q[1] + "=" + q[2]));
    };
    if (groups.size() == 1) {
      const auto g = normalise_pn_group(groups[0]);
      if (g.empty() || g.find_first_not_of('*') == std::string::npos) {
        return "";
      }
      std::string any;
      for (std::size_t k = 0; k < 3; ++k) {
        std::vector<std::string> q(3, "*");
        q[k] = g;
        any += (any.empty() ? "" : " OR ") + pattern(q);
      }
      return "(" + any + ")";
    }
    std::vector<std::string> q(3, "*");
    for (std::size_t k = 0; k < groups.size() && k < 3; ++k) {
      const auto g = normalise_pn_group(groups[k]);
      if (!g.empty()) {
        q[k] = g;
      }
    }
    return pattern(q);
  }

  std::string pn_match(const Attribute& a, const std::string& value)
  {
    const auto groups = core::split(value, '=');
    static const char* const k_columns[] = {"alpha", "ideo", "phon"};
    if (groups.size() == 1) {
      const auto g = normalise_pn_group(groups[0]);
      if (g.empty()) {
        return "";
      }
      std::string any;
      for (const auto* col : k_columns) {
        const auto cond = text_match(std::string(a.norm) + col, g);
        if (cond.empty()) {
          return "";
        }
        any += (any.empty() ? "" : " OR ") + cond;
      }
      return "(" + any + ")";
    }
    std::string all;
    for (std::size_t k = 0; k < groups.size() && k < 3; ++k) {
      const auto g = normalise_pn_group(groups[k]);
      if (g.empty()) {
        continue;
      }
      const auto cond = text_match(std::string(a.norm) + k_columns[k], g);
      if (!cond.empty()) {
        all += (all.empty() ? "" : " AND ") + cond;
      }
    }
    return all.empty() ? "" : "(" + all + ")";
  }

  // Range bounds for DA/TM (C.2.2.2.5.1): missing lower components are the
  // earliest, missing upper components the latest.
  static std::string lower_time(std::string t)
  {
    t.erase(std::remove(t.begin(), t.end(), ':'), t.end());
    return t;
  }
  static std::string upper_time(std::string t)
  {
    t.erase(std::remove(t.begin(), t.end(), ':'), t.end());
    if (t.size() <= 2) {
      return t + "5959.999999";
    }
    if (t.size() <= 4) {
      return t + "59.999999";
    }
    if (t.find('.') == std::string::npos) {
      return t + ".999999";
    }
    return t + "999999";
  }

  core::Result<std::string> range_match(const std::string& expr, const std::string& value,
                                        bool time)
  {
    const auto dash = value.find('-');
    if (dash == std::string::npos) {
      if (has_wildcard(value)) {
        return core::make_error(FindErrc::bad_value,
                                "wildcards are not allowed in dates and times");
      }
      if (time) {
        // A single time matches the whole unit it names ("1015" = 10:15:xx).
        // Two statements: the operands of one '+' chain are evaluated in no
        // fixed order, and the parameters must be bound in text order.
        const std::string lower = param(lower_time(value));
        const std::string upper = param(upper_time(value));
        return "(" + expr + " >= " + lower + " AND " + expr + " <= " + upper + ")";
      }
      return expr + " = " + param(value);
    }
    if (value.find('-', dash + 1) != std::string::npos) {
      return core::make_error(FindErrc::bad_value, "malformed range '" + value + "'");
    }
    const auto lo = std::string(core::trim(value.substr(0, dash)));
    const auto hi = std::string(core::trim(value.substr(dash + 1)));
    if (lo.empty() && hi.empty()) {
      return core::make_error(FindErrc::bad_value, "empty range '-'");
    }
    std::string cond = expr + " != ''";
    if (!lo.empty()) {
      cond += " AND " + expr + " >= " + param(time ? lower_time(lo) : lo);
    }
    if (!hi.empty()) {
      cond += " AND " + expr + " <= " + param(time ? upper_time(hi) : hi);
    }
    return "(" + cond + ")";
  }

  // Combined StudyDate + StudyTime range (C.2.2.2.5.2, negotiated).
  core::Result<std::string> datetime_match(const std::string& date, const std::string& time)
  {
    const auto dd = date.find('-');
    const auto td = time.find('-');
    if (dd == std::string::npos || td == std::string::npos) {
      return core::make_error(FindErrc::bad_value, "combined date-time matching needs two ranges");
    }
    const auto dlo = std::string(core::trim(date.substr(0, dd)));
    const auto dhi = std::string(core::trim(date.substr(dd + 1)));
    const auto tlo = std::string(core::trim(time.substr(0, td)));
    const auto thi = std::string(core::trim(time.substr(td + 1)));
    const std::string expr = "(st.study_date || st.study_time)";
    std::string cond = "st.study_date != ''";
    if (!dlo.empty()) {
      cond += " AND " + expr + " >= " + param(dlo + lower_time(tlo));
    }
    if (!dhi.empty()) {
      cond += " AND " + expr + " <= " + param(dhi + (thi.empty() ? "999999" : upper_time(thi)));
    }
    return "(" + cond + ")";
  }

private:
  Statement& m_st;
};

const char*
from_clause(Level level)
{
  switch (level) {
  case Level::patient:
    return "patients p";
  case Level::study:
    return "studies st JOIN patients p ON p.id = st.patient_fk";
  case Level::series:
    return "series s JOIN studies st ON st.id = s.study_fk JOIN patients p ON p.id = st.patient_fk";
  case Level::image:
    return "instances i JOIN series s ON s.id = i.series_fk JOIN studies st ON st.id = "
           "s.study_fk JOIN patients p ON p.id = st.patient_fk";
  }
  return "";
}

const char*
order_clause(Level level)
{
  switch (level) {
  case Level::patient:
    return "p.patient_name, p.patient_id";
  case Level::study:
    return "st.study_date DESC, st.study_time DESC, st.id";
  case Level::series:
    return "s.series_number IS NULL, s.series_number, s.id";
  case Level::image:
    return "i.instance_number IS NULL, i.instance_number, i.id";
  }
  return "";
}

core::Result<void>
check_level(const FindRequest& r)
{
  const bool ok = (r.model == Model::patient_root)
                  || (r.model == Model::study_root && r.level != Level::patient)
                  || (r.model == Model::patient_study_only
                      && (r.level == Level::patient || r.level == Level::study));
  if (!ok) {
    return core::make_error(FindErrc::bad_level, "level not in this information model");
  }
  return {};
}

const FindKey*
key_of(const FindRequest& r, std::uint32_t tag)
{
  for (const auto& k : r.keys) {
    if (k.tag == tag) {
      return &k;
    }
  }
  return nullptr;
}

// Unique keys above the query level. PS3.4 C.4.1.2.1 (hierarchical) wants
// each with a single value; C.4.1.2.2 (relational, when negotiated) allows
// any matching there. A missing or empty one is answered in both cases as
// Orthanc and dcmqrscp do: the key then matches everything above the level,
// which is what the relational model means by it (reported in `relaxed`).
// Still refused (A900): a list or a wildcard without relational queries,
// and a wildcard in a UID, which UI never allows (C.2.2.2.2).
core::Result<void>
check_unique_keys(const FindRequest& r, bool& relaxed)
{
  struct Above
  {
    Level level;
    std::uint32_t tag;
    const char* name;
    bool uid;
  };
  const Above above[] = {{Level::patient, k_patient_id, "PatientID", false},
                         {Level::study, k_study_uid, "StudyInstanceUID", true},
                         {Level::series, k_series_uid, "SeriesInstanceUID", true}};
  for (const auto& a : above) {
    if (a.level >= r.level) {
      continue;
    }
    if (a.level == Level::patient && r.model == Model::study_root) {
      continue; // no patient level in Study Root
    }
    const auto* k = key_of(r, a.tag);
    if (k == nullptr || core::trim(k->value).empty()) {
      relaxed = true;
      continue;
    }
    if (a.uid && has_wildcard(k->value)) {
      return core::make_error(FindErrc::bad_unique_key,
                              std::string(a.name) + " cannot hold a wildcard (PS3.4 C.2.2.2.2)");
    }
    if (!r.relational && (k->value.find('\\') != std::string::npos || has_wildcard(k->value))) {
      return core::make_error(FindErrc::bad_unique_key,
                              std::string(a.name)
                                  + " must be a single value (relational queries not negotiated)");
    }
  }
  return {};
}

} // namespace

core::Result<Statement>
build_find(const FindRequest& request, std::vector<std::uint32_t>& unsupported, bool& relaxed)
{
  if (auto r = check_level(request); !r) {
    return r.error();
  }
  if (auto r = check_unique_keys(request, relaxed); !r) {
    return r.error();
  }
  Statement st;
  Builder b(st);
  std::string select;
  std::vector<std::string> where;

  const FindKey* date = nullptr;
  const FindKey* time = nullptr;
  if (request.combined_datetime && request.level >= Level::study) {
    date = key_of(request, k_study_date);
    time = key_of(request, k_study_time);
    if (date && time && date->value.find('-') != std::string::npos
        && time->value.find('-') != std::string::npos) {
      auto cond = b.datetime_match(date->value, time->value);
      if (!cond) {
        return cond.error();
      }
      where.push_back(*cond);
    } else {
      date = time = nullptr;
    }
  }

  for (const auto& key : request.keys) {
    const auto* a = find_attribute(key.tag, request.level, request.model);
    if (a == nullptr || key.is_sequence) {
      unsupported.push_back(key.tag);
      continue;
    }
    select += (select.empty() ? "" : ", ") + std::string("COALESCE(") + a->expr + ", '')";
    st.columns.push_back(key.tag);
    if (&key == date || &key == time) {
      continue;
    }
    const auto value = std::string(core::trim(key.value));
    if (value.empty()) {
      continue; // universal matching, C.2.2.2.3
    }
    auto cond = b.match(*a, value, request.model);
    if (!cond) {
      return cond.error();
    }
    if (!cond->empty()) {
      where.push_back(*cond);
    }
  }
  if (select.empty()) {
    select = "1";
  }
  std::string conditions;
  for (std::size_t i = 0; i < where.size(); ++i) {
    conditions += (i == 0 ? " WHERE " : " AND ") + where[i];
  }
  st.text = "SELECT " + select + " FROM " + from_clause(request.level) + conditions;
  st.text += std::string(" ORDER BY ") + order_clause(request.level);
  if (request.limit > 0 || request.offset > 0) {
    // Integers of ours, not text from the request.
    st.text += " LIMIT " + (request.limit > 0 ? std::to_string(request.limit) : std::string("-1"))
               + " OFFSET " + std::to_string(request.offset);
    st.count_text = std::string("SELECT COUNT(*) FROM ") + from_clause(request.level) + conditions;
  }
  return st;
}

core::Result<Statement>
build_retrieve(const FindRequest& request)
{
  if (auto r = check_level(request); !r) {
    return r.error();
  }
  Statement st;
  Builder b(st);
  std::string where;
  const std::pair<std::uint32_t, Level> uniques[] = {{k_patient_id, Level::patient},
                                                     {k_study_uid, Level::study},
                                                     {k_series_uid, Level::series},
                                                     {k_sop_uid, Level::image}};
  bool has_level_key = false;
  for (const auto& [tag, level] : uniques) {
    if (level > request.level) {
      continue;
    }
    const auto* k = key_of(request, tag);
    if (k == nullptr || core::trim(k->value).empty()) {
      continue;
    }
    if (has_wildcard(k->value)) {
      return core::make_error(FindErrc::bad_unique_key, "wildcards are not allowed in a retrieve");
    }
    if (level == request.level) {
      has_level_key = true;
    }
    const auto* a = find_attribute(tag, Level::image, Model::patient_root);
    auto cond =
        tag == k_patient_id
            ? core::Result<std::string>(b.text_match(a->expr, std::string(core::trim(k->value))))
            : b.match(*a, std::string(core::trim(k->value)), request.model);
    if (!cond) {
      return cond.error();
    }
    where += (where.empty() ? " WHERE " : " AND ") + *cond;
  }
  if (!has_level_key) {
    return core::make_error(FindErrc::bad_unique_key,
                            "the unique key of the retrieve level is missing");
  }
  st.text = std::string("SELECT i.sop_class_uid, i.sop_uid, i.transfer_syntax, i.path FROM ")
            + from_clause(Level::image) + where + " ORDER BY s.id, " + order_clause(Level::image);
  return st;
}

} // namespace store::sql
