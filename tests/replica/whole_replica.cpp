// SPDX-License-Identifier: GPL-3.0-or-later
#include "whole_replica.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

namespace replica {

namespace {

using testutil::Calls;
using testutil::Fault;
using testutil::HttpRequest;
using testutil::HttpResponse;

const char* const k_shdc_key = "5fbcVzmBJNUsw53#";
const char* const k_zs_key = "c57b1589172b85531c2dbad73c5e9056";
const char* const k_mt_key = "561382DAD3AE48A89AC3003E15D75CC0";
const char* const k_mt_iv = "1234567890000000";

// --- crypto, OpenSSL EVP only ------------------------------------------------

std::string
md5_hex(const std::string& text)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_md5(), nullptr);
  static const char k_hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) {
    out += k_hex[digest[i] >> 4];
    out += k_hex[digest[i] & 15];
  }
  return out;
}

const EVP_CIPHER*
aes(std::size_t key_size, bool cbc)
{
  switch (key_size) {
  case 16:
    return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
  case 24:
    return cbc ? EVP_aes_192_cbc() : EVP_aes_192_ecb();
  case 32:
    return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb();
  default:
    throw std::runtime_error("AES key of " + std::to_string(key_size) + " bytes");
  }
}

// nullopt-like: returns false on bad padding.
bool
aes_run(bool encrypt, const std::string& in, const std::string& key, const std::string& iv,
        bool cbc, std::string& out)
{
  auto* ctx = EVP_CIPHER_CTX_new();
  out.assign(in.size() + 32, '\0');
  int n = 0;
  int tail = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  const bool ok =
      EVP_CipherInit_ex(
          ctx, aes(key.size(), cbc), nullptr, reinterpret_cast<const unsigned char*>(key.data()),
          cbc ? reinterpret_cast<const unsigned char*>(iv.data()) : nullptr, encrypt ? 1 : 0)
          == 1
      && EVP_CipherUpdate(ctx, o, &n, reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()))
             == 1
      && EVP_CipherFinal_ex(ctx, o + n, &tail) == 1;
  EVP_CIPHER_CTX_free(ctx);
  out.resize(ok ? static_cast<std::size_t>(n + tail) : 0);
  return ok;
}

std::string
b64(const std::string& bytes)
{
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string
percent_encode(const std::string& text, bool plus_for_space)
{
  static const char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else if (c == ' ' && plus_for_space) {
      out += '+';
    } else {
      out += '%';
      out += k_hex[b >> 4];
      out += k_hex[b & 15];
    }
  }
  return out;
}

std::string
form_decode(const std::string& text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string>
parse_form(const std::string& text)
{
  std::map<std::string, std::string> out;
  std::stringstream in(text);
  std::string pair;
  while (std::getline(in, pair, '&')) {
    const auto eq = pair.find('=');
    out[form_decode(pair.substr(0, eq))] =
        eq == std::string::npos ? "" : form_decode(pair.substr(eq + 1));
  }
  return out;
}

// A tiny JPEG-looking body: the junk entry every platform lists.
std::string
junk_jpeg()
{
  static const unsigned char k_jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J',  'F',
                                         'I',  'F',  0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
                                         0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9};
  return std::string(reinterpret_cast<const char*>(k_jpeg), sizeof(k_jpeg));
}

std::string
read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Calls
parse_calls(const std::string& text)
{
  if (text.empty()) {
    return Calls::all();
  }
  if (text[0] == '%') {
    return Calls::every(std::stoi(text.substr(1)));
  }
  const auto dash = text.find('-');
  if (dash == std::string::npos) {
    return Calls::nth(std::stoi(text));
  }
  const int first = std::stoi(text.substr(0, dash));
  return Calls::range(first, dash + 1 == text.size() ? INT_MAX : std::stoi(text.substr(dash + 1)));
}

Fault
parse_fault_kind(const std::string& kind, const std::string& arg)
{
  const auto n = [&](long fallback) { return arg.empty() ? fallback : std::stol(arg); };
  const auto retry_after = arg.empty() ? std::nullopt : std::optional<std::string>(arg);
  if (kind == "status") {
    return Fault::http_status(static_cast<int>(n(500)));
  }
  if (kind == "rate_limit") {
    return Fault::rate_limit(retry_after, 429);
  }
  if (kind == "rate_limit_503") {
    return Fault::rate_limit(retry_after, 503);
  }
  if (kind == "delay") {
    return Fault::delay_first_byte(std::chrono::milliseconds(n(1000)));
  }
  if (kind == "drip") {
    return Fault::drip(static_cast<std::size_t>(n(1024)));
  }
  if (kind == "stall") {
    return Fault::stall_after(static_cast<std::size_t>(n(0)));
  }
  if (kind == "truncate") {
    return Fault::truncate(static_cast<std::size_t>(n(16)));
  }
  if (kind == "truncate_chunked") {
    return Fault::truncate_chunked(static_cast<std::size_t>(n(16)));
  }
  if (kind == "reset") {
    return Fault::reset(static_cast<std::size_t>(n(0)));
  }
  if (kind == "html") {
    return Fault::soft_error_html();
  }
  if (kind == "short") {
    return Fault::short_object(static_cast<std::size_t>(n(16)));
  }
  if (kind == "wrong_type") {
    return Fault::wrong_type(arg.empty() ? "text/html" : arg);
  }
  if (kind == "gzip") {
    return Fault::gzip();
  }
  throw std::runtime_error("unknown fault kind '" + kind + "'");
}

nlohmann::json
number_or_null(const std::optional<long>& n)
{
  return n ? nlohmann::json(*n) : nlohmann::json(nullptr);
}

// Local "YYYY-MM-DD HH:MM:SS" (or shorter) to epoch milliseconds.
long long
epoch_ms(const std::string& date_time)
{
  std::tm tm{};
  tm.tm_isdst = -1;
  if (std::sscanf(date_time.c_str(), "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec)
      < 3) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<long long>(std::mktime(&tm)) * 1000;
}

HttpResponse
json_as(const nlohmann::json& j, const char* content_type)
{
  auto r = HttpResponse::json(j.dump());
  for (auto& [k, v] : r.headers) {
    if (k == "Content-Type") {
      v = content_type;
    }
  }
  return r;
}

} // namespace

WholeReplica::WholeReplica(Study study, WholeOptions options)
    : m_study(std::move(study)), m_options(std::move(options)),
      m_start(std::chrono::steady_clock::now())
{
  if (m_options.host.empty()) {
    m_options.host = m_options.platform == WholePlatform::shdc      ? "ylyyx.shdc.org.cn"
                     : m_options.platform == WholePlatform::zscloud ? "zscloud.zs-hospital.sh.cn"
                                                                    : "ss.mtywcloud.com";
  }
  const auto& uid = m_study.study_instance_uid;
  std::map<std::string, int> used_names;
  for (const auto& s : m_study.series) {
    std::vector<File> files;
    for (const auto& i : s.instances) {
      auto name = hash_hex("name|" + i.sop_instance_uid).substr(0, 8);
      std::transform(name.begin(), name.end(), name.begin(), ::toupper);
      while (used_names[name]++ > 0) { // unique, still 8 upper hex digits
        name = hash_hex("name|" + name).substr(0, 8);
        std::transform(name.begin(), name.end(), name.begin(), ::toupper);
      }
      if (m_options.platform == WholePlatform::mtywcloud) {
        name =
            "DICOM/" + std::to_string(m_files.size() + 1) + "/" + std::to_string(files.size() + 1);
      }
      files.push_back({i.sop_instance_uid, s.series_instance_uid, i.file.string(), name});
    }
    m_series_uids.push_back(s.series_instance_uid);
    m_files.push_back(std::move(files));
  }
  // The junk entry: listed like an instance, served as a JPEG.
  auto junk_name = hash_hex("junk|" + uid).substr(0, 8);
  std::transform(junk_name.begin(), junk_name.end(), junk_name.begin(), ::toupper);
  const auto junk_series = uid + ".999";
  const auto junk_uid = uid + ".999.1";
  m_series_uids.push_back(junk_series);
  m_files.push_back({{m_options.platform == WholePlatform::shdc ? "" : junk_uid, junk_series, "",
                      m_options.platform == WholePlatform::mtywcloud ? "JPG/1" : junk_name}});

  m_values["sid"] = std::to_string(std::stoul(hash_hex("sid|" + uid).substr(0, 6), nullptr, 16));
  m_values["token"] = hash_hex("token|" + uid);
  m_values["appid"] = "wx" + hash_hex("appid|" + uid).substr(0, 8);
  {
    const auto h = hash_hex("share|" + uid);
    m_values["share_id"] = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-"
                           + h.substr(16, 4) + "-" + h.substr(20, 12);
  }
  m_values["code"] = hash_hex("code|" + uid).substr(0, 16);
  m_values["cipher_key"] = hash_hex("zskey|" + uid).substr(0, 16);
  m_values["cipher_iv"] = hash_hex("zsiv|" + uid).substr(0, 16);
  m_values["unique_id"] = hash_hex("unique|" + uid).substr(0, 12);
  m_values["org"] = "ORG" + hash_hex("org|" + uid).substr(0, 4);
  m_values["dicomdir"] = "http://bucket 1/oss.test/" + m_values["org"] + "/2024/03/15/Exam/"
                         + hash_hex("exam|" + uid) + "/Exam/ExamImage/" + hash_hex("image|" + uid)
                         + "+a/DICOMDIR";
  m_values["viewer_token"] = hash_hex("vtoken|" + uid).substr(0, 20);
  m_values["session"] = hash_hex("session|" + uid).substr(0, 24);

  m_server = std::make_unique<testutil::HttpServer>();
  switch (m_options.platform) {
  case WholePlatform::shdc:
    install_shdc();
    break;
  case WholePlatform::zscloud:
    install_zscloud();
    break;
  case WholePlatform::mtywcloud:
    install_mtywcloud();
    break;
  }
  install_control();
  for (const auto& spec : m_options.faults) {
    add_fault(spec);
  }
}

WholeReplica::~WholeReplica() { stop(); }

void
WholeReplica::stop()
{
  m_server->stop();
}

std::string
WholeReplica::origin() const
{
  return "http://" + m_options.host + ":" + std::to_string(m_server->port());
}

void
WholeReplica::add_route(const std::string& name, const std::string& method,
                        const std::string& pattern, testutil::Handler handler)
{
  const auto latency = m_options.latency;
  m_server->route(method, pattern, [latency, handler = std::move(handler)](const HttpRequest& r) {
    if (latency.count() > 0) {
      std::this_thread::sleep_for(latency);
    }
    return handler(r);
  });
  m_routes[name] = pattern;
}

void
WholeReplica::add_fault(const std::string& spec)
{
  try {
    const auto at = spec.rfind('@');
    const auto head = spec.substr(0, at);
    const auto calls = parse_calls(at == std::string::npos ? "" : spec.substr(at + 1));
    const auto c1 = head.find(':');
    if (c1 == std::string::npos) {
      throw std::runtime_error("expected ROUTE:KIND[:ARG][@CALLS]");
    }
    const auto route = head.substr(0, c1);
    const auto c2 = head.find(':', c1 + 1);
    const auto kind =
        head.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
    const auto arg = c2 == std::string::npos ? std::string() : head.substr(c2 + 1);
    auto fault = parse_fault_kind(kind, arg).on(calls);
    if (!route.empty() && route[0] == '/') {
      m_server->fault(route, fault);
      return;
    }
    const auto it = m_routes.find(route);
    if (it == m_routes.end()) {
      throw std::runtime_error("no route '" + route + "'");
    }
    m_server->fault(it->second, fault);
  } catch (const std::invalid_argument&) {
    throw std::runtime_error("bad fault '" + spec + "': a number was expected");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("bad fault '" + spec + "': " + e.what());
  }
}

HttpResponse
WholeReplica::file_response(const File& f, const std::string& content_type) const
{
  if (f.path.empty()) {
    return HttpResponse::binary(junk_jpeg(), "image/jpeg");
  }
  return HttpResponse::binary(read_file(f.path), content_type);
}

// --- shdc (8.3.4) --------------------------------------------------------------

void
WholeReplica::install_shdc()
{
  const std::string key = m_options.key.empty() ? k_shdc_key : m_options.key;
  // Recompute the signature over the received query minus `sign`, in order.
  const auto signed_ok = [key](const HttpRequest& r) {
    const auto at = r.query.rfind("&sign=");
    if (at == std::string::npos) {
      return false;
    }
    return r.query.substr(at + 6) == md5_hex(r.query.substr(0, at) + "&key=" + key);
  };
  const auto answer = [](const nlohmann::json& j) {
    return json_as(j, "text/html; charset=utf-8");
  };
  add_route(
      "verify", "POST", "/api001/share_verify", [this, signed_ok, answer](const HttpRequest& r) {
        if (!signed_ok(r)) {
          return answer({{"code", 1001}, {"msg", "sign error"}});
        }
        if (r.form("share_id") != m_values.at("share_id")
            || r.form("appid") != m_values.at("appid")) {
          return answer({{"code", 1004}, {"msg", "share not found"}});
        }
        return answer({{"code", 0},
                       {"msg", nullptr},
                       {"url_link", "https://" + m_options.host + "/#/home?sid="
                                        + m_values.at("sid") + "&token=" + m_values.at("token")}});
      });
  const auto checked = [this, signed_ok,
                        answer](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (!signed_ok(r)) {
      return answer({{"code", 1001}, {"msg", "sign error"}});
    }
    if (r.param("sid") != m_values.at("sid") || r.param("token") != m_values.at("token")) {
      return answer({{"code", 1002}, {"msg", "token error"}});
    }
    if (m_options.expired) {
      return answer({{"code", 1005}, {"msg", "链接已过期，请让患者重新分享"}});
    }
    return std::nullopt;
  };
  add_route("detail", "GET", "/api001/study/detail", [this, checked, answer](const HttpRequest& r) {
    if (auto refused = checked(r)) {
      return *refused;
    }
    const auto modality = m_study.series.empty() ? std::string() : m_study.series[0].modality;
    return answer({{"code", 0},
                   {"msg", nullptr},
                   {"study",
                    {{"patient", {{"name", m_study.patient_name}}},
                     {"description", m_study.description},
                     {"modality_type", modality},
                     {"study_datetime", m_study.date_time},
                     {"update_time", nullptr}}}});
  });
  add_route("list", "GET", "/api001/series/list", [this, checked, answer](const HttpRequest& r) {
    if (auto refused = checked(r)) {
      return *refused;
    }
    auto result = nlohmann::json::array();
    for (std::size_t s = 0; s < m_files.size(); ++s) {
      std::string names;
      for (const auto& f : m_files[s]) {
        names += (names.empty() ? "" : ",") + f.name;
      }
      const bool junk = s == m_study.series.size();
      result.push_back(
          {{"description", junk ? std::string("Report") : m_study.series[s].description},
           {"series_number", junk ? nlohmann::json(999) : number_or_null(m_study.series[s].number)},
           {"source_folder", "20240315/" + hash_hex("folder|" + m_series_uids[s]).substr(0, 10)},
           {"names", names}});
    }
    return answer({{"code", 0}, {"msg", nullptr}, {"result", result}});
  });
  add_route("file", "GET", "/rawdata/indata/*", [this, key](const HttpRequest& r) {
    const auto rest = r.path.substr(std::string("/rawdata/indata/").size());
    const auto slash = rest.rfind('/');
    const auto folder = slash == std::string::npos ? std::string() : rest.substr(0, slash);
    const auto name = rest.substr(slash + 1);
    // Authorization: Basic sid;token;ts;md5(sid;token;ts;name;KEY), ts within 10 min.
    const auto auth = r.header("authorization");
    const std::string prefix = "Basic ";
    bool ok = auth.rfind(prefix, 0) == 0;
    if (ok) {
      std::vector<std::string> parts;
      std::stringstream in(auth.substr(prefix.size()));
      std::string part;
      while (std::getline(in, part, ';')) {
        parts.push_back(part);
      }
      ok = parts.size() == 4 && parts[0] == m_values.at("sid") && parts[1] == m_values.at("token")
           && parts[3]
                  == md5_hex(parts[0] + ";" + parts[1] + ";" + parts[2] + ";" + name + ";" + key);
      if (ok) {
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch() + m_options.skew)
                             .count();
        try {
          ok = std::llabs(std::stoll(parts[2]) - now) <= 600000;
        } catch (const std::exception&) {
          ok = false;
        }
      }
    }
    if (!ok) {
      return HttpResponse::html("<html><body>401 Unauthorized</body></html>", 401);
    }
    for (std::size_t s = 0; s < m_files.size(); ++s) {
      if (folder != "20240315/" + hash_hex("folder|" + m_series_uids[s]).substr(0, 10)) {
        continue;
      }
      for (const auto& f : m_files[s]) {
        if (f.name == name) {
          return file_response(f, "application/octet-stream");
        }
      }
    }
    return HttpResponse::html("<html><body>404 Not Found</body></html>", 404);
  });
}

// --- zscloud (8.3.5) -----------------------------------------------------------

void
WholeReplica::install_zscloud()
{
  const std::string config_key = m_options.key.empty() ? k_zs_key : m_options.key;
  add_route("config", "GET", "/film/api/m/config/getConfigs",
            [this, config_key](const HttpRequest&) {
              const nlohmann::json config = {{"appName", "film"},
                                             {"cetusAESKey",
                                              {{"cipherSecretKey", m_values.at("cipher_key")},
                                               {"cipherIv", m_values.at("cipher_iv")}}},
                                             {"uploadLimit", 100}};
              std::string cipher;
              aes_run(true, config.dump(), config_key, {}, false, cipher);
              return HttpResponse::text(b64(cipher));
            });
  add_route(
      "share", "POST", "/film/api/m/doctor/getStudyByShareCodeWithToken",
      [this](const HttpRequest& r) {
        std::string code;
        try {
          code = nlohmann::json::parse(r.body).value("code", "");
        } catch (const std::exception&) {
        }
        if (m_options.expired || code != m_values.at("code")) {
          return HttpResponse::json(R"({"code":"E000101","data":"分享码无效或已过期"})");
        }
        const nlohmann::json info = {{"records",
                                      {{{"patientName", m_study.patient_name},
                                        {"procedureItemName", m_study.description},
                                        {"studyDatetime", epoch_ms(m_study.date_time)},
                                        {"studyLevelList",
                                         {{{"studyInstanceUid", m_study.study_instance_uid},
                                           {"uniqueId", m_values.at("unique_id")},
                                           {"orgCode", m_values.at("org")}}}}}}}};
        auto plain = info;
        if (m_options.two_studies) {
          auto second = plain["records"][0];
          second["studyLevelList"][0]["studyInstanceUid"] = m_study.study_instance_uid + ".2";
          plain["records"].push_back(second);
        }
        std::string cipher;
        aes_run(true, plain.dump(), m_values.at("cipher_key"), m_values.at("cipher_iv"), true,
                cipher);
        const nlohmann::json answer = {
            {"code", "U000000"},
            {"data", {{"encryptionStudyInfo", b64(cipher)}, {"token", "t"}, {"uapToken", "u"}}}};
        return HttpResponse::json(answer.dump());
      });
  add_route("token", "GET", "/viewer/2d/Dapeng/Viewer/GetCredentialsToken",
            [this](const HttpRequest&) {
              std::string token;
              {
                std::lock_guard<std::mutex> lock(m_mutex);
                token = hash_hex("bearer|" + std::to_string(++m_counter));
                m_tokens[token] = std::chrono::steady_clock::now() + m_options.token_ttl;
              }
              const nlohmann::json inner = {{"access_token", token},
                                            {"expires_in", m_options.token_ttl.count() / 1000}};
              return HttpResponse::json(nlohmann::json{{"result", inner.dump()}}.dump());
            });
  add_route("imageservice", "GET", "/vna/image/Home/ImageService", [this](const HttpRequest& r) {
    const auto auth = r.header("authorization");
    bool ok = !m_options.reject_token && auth.rfind("Bearer ", 0) == 0;
    if (ok) {
      std::lock_guard<std::mutex> lock(m_mutex);
      const auto it = m_tokens.find(auth.substr(7));
      ok = it != m_tokens.end() && it->second > std::chrono::steady_clock::now();
    }
    if (!ok) {
      return HttpResponse::html("<html><body>401 Unauthorized</body></html>", 401);
    }
    if (r.param("randnum").empty() || r.param("includeDeleted") != "false"
        || r.param("StudyUID") != m_study.study_instance_uid) {
      return HttpResponse::html("<html><body>400 Bad Request</body></html>", 400);
    }
    const auto command = r.param("CommandType");
    if (command == "GetHierachy") {
      if (r.param("UserId") != "UIH" || r.param("appendTags") != "PI-film-include"
          || r.param("UniqueID") != m_values.at("unique_id")
          || r.param("LocationCode") != m_values.at("org")) {
        return HttpResponse::html("<html><body>400 Bad Request</body></html>", 400);
      }
      auto series_list = nlohmann::json::array();
      for (std::size_t s = 0; s < m_files.size(); ++s) {
        const bool junk = s == m_study.series.size();
        auto images = nlohmann::json::array();
        for (const auto& f : m_files[s]) {
          images.push_back({{"UID", f.sop_instance_uid}, {"Number", images.size() + 1}});
        }
        series_list.push_back(
            {{"UID", m_series_uids[s]},
             {"SeriesDes", junk ? std::string("PI film") : m_study.series[s].description},
             {"SeriesNum", junk ? nlohmann::json(999) : number_or_null(m_study.series[s].number)},
             {"ImageList", images}});
      }
      const nlohmann::json j = {{"PatientInfo", {{"StudyList", {{{"SeriesList", series_list}}}}}}};
      return HttpResponse::json(j.dump());
    }
    if (command == "GetImage" && r.param("ContentType") == "application/dicom") {
      for (std::size_t s = 0; s < m_files.size(); ++s) {
        for (const auto& f : m_files[s]) {
          if (f.sop_instance_uid == r.param("ObjectUID")
              && m_series_uids[s] == r.param("SeriesUID")) {
            return file_response(f, "application/dicom");
          }
        }
      }
      return HttpResponse::html("<html><body>404 Not Found</body></html>", 404);
    }
    return HttpResponse::html("<html><body>400 Bad Request</body></html>", 400);
  });
}

// --- mtywcloud (8.3.8) ---------------------------------------------------------

void
WholeReplica::install_mtywcloud()
{
  const std::string key = m_options.key.empty() ? k_mt_key : m_options.key;
  const std::string iv = m_options.iv.empty() ? k_mt_iv : m_options.iv;
  add_route("viewer", "GET", "/ICCWebClient/Image/Viewer", [this](const HttpRequest&) {
    return HttpResponse::html("<html><head><title>ICCWebClient</title></head><body><div "
                              "id=\"app\"></div></body></html>")
        .header("Set-Cookie", "ASP.NET_SessionId=" + m_values.at("session") + "; path=/; HttpOnly");
  });
  add_route("connect", "POST", "/ICCWebClient/Common/Connect",
            [](const HttpRequest&) { return HttpResponse::json(R"({"status":"OK"})"); });
  const auto fail = [](const std::string& message) {
    return HttpResponse::json(
        nlohmann::json{{"Success", false}, {"Message", message}, {"Data", nullptr}}.dump());
  };
  add_route(
      "info", "POST", "/ICCWebClient/api/Study/Info", [this, key, iv, fail](const HttpRequest& r) {
        if (r.cookie("ASP.NET_SessionId") != m_values.at("session")
            || r.header("referer").find("/ICCWebClient/Image/Viewer?") == std::string::npos) {
          return fail("session expired, open the viewer again");
        }
        const auto hex = r.param("data");
        std::string bytes;
        for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
          if (std::isxdigit(static_cast<unsigned char>(hex[i])) == 0
              || std::isxdigit(static_cast<unsigned char>(hex[i + 1])) == 0) {
            return fail("invalid data: not hex");
          }
          bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
        }
        if (hex.empty() || hex.size() % 2 != 0) {
          return fail("invalid data: not hex");
        }
        std::string plain;
        if (!aes_run(false, bytes, key, iv, true, plain)) {
          return fail("decrypt failed: bad padding");
        }
        const auto form = parse_form(plain);
        if (m_options.expired || form.count("DicomDirPath") == 0
            || form.at("DicomDirPath") != m_values.at("dicomdir")
            || form.count("OrganizationID") == 0
            || form.at("OrganizationID") != m_values.at("org")) {
          return fail("study not found");
        }
        auto series_list = nlohmann::json::array();
        for (std::size_t s = 0; s < m_files.size(); ++s) {
          const bool junk = s == m_study.series.size();
          auto images = nlohmann::json::array();
          for (const auto& f : m_files[s]) {
            images.push_back({{"SOPInstanceUID", f.sop_instance_uid},
                              {"SeriesInstanceUID", f.series_instance_uid},
                              {"StudyInstanceUID", m_study.study_instance_uid},
                              {"ImagePath", f.name}});
          }
          series_list.push_back({{"SeriesDescription",
                                  junk ? std::string("Screenshot") : m_study.series[s].description},
                                 {"SeriesNumber", junk ? nlohmann::json(999)
                                                       : number_or_null(m_study.series[s].number)},
                                 {"ImageCount", images.size()},
                                 {"ImageList", images}});
        }
        std::string modalities;
        for (const auto& s : m_study.series) {
          if (!s.modality.empty() && modalities.find(s.modality) == std::string::npos) {
            modalities += (modalities.empty() ? "" : "\\") + s.modality;
          }
        }
        const nlohmann::json study = {{"PatientName", m_study.patient_name},
                                      {"ModalitiesInStudy", modalities},
                                      {"StudyDateTime", m_study.date_time},
                                      {"SeriesList", series_list}};
        return HttpResponse::json(nlohmann::json{
            {"Success", true}, {"Message", nullptr}, {"Data", nlohmann::json::array({study})}}
                                      .dump());
      });
  add_route("file", "GET", "/ICCWebClient/api/Dicom/File", [this](const HttpRequest& r) {
    if (r.param("httpPath") != "null" || r.param("OrganizationID") != m_values.at("org")
        || r.query.find("&retrieveAE=&") == std::string::npos) {
      return HttpResponse::html("<html><body>400 Bad Request</body></html>", 400);
    }
    for (const auto& series : m_files) {
      for (const auto& f : series) {
        if (f.sop_instance_uid == r.param("sopInstanceUID")
            && f.series_instance_uid == r.param("seriesInstanceUID")
            && r.param("studyInstanceUID") == m_study.study_instance_uid
            && f.name == r.param("imagePath")) {
          return file_response(f, "application/octet-stream");
        }
      }
    }
    return HttpResponse::html("<html><body>404 Not Found</body></html>", 404);
  });
}

// --- control and info ------------------------------------------------------------

void
WholeReplica::install_control()
{
  auto& s = *m_server;
  s.route("GET", "/__control/log",
          [this](const HttpRequest&) { return HttpResponse::json(log().dump()); });
  s.route("GET", "/__control/info",
          [this](const HttpRequest&) { return HttpResponse::json(info().dump()); });
  s.route("*", "/__control/reset", [this](const HttpRequest&) {
    m_server->reset();
    for (const auto& spec : m_options.faults) {
      add_fault(spec);
    }
    return HttpResponse::json(R"({"ok":true})");
  });
  s.route("*", "/__control/fault", [this](const HttpRequest& r) {
    try {
      add_fault(r.param("spec"));
    } catch (const std::exception& e) {
      return HttpResponse::text(std::string(e.what()) + "\n", 400);
    }
    return HttpResponse::json(R"({"ok":true})");
  });
  s.route("*", "/__control/clear_faults", [this](const HttpRequest&) {
    m_server->clear_faults();
    return HttpResponse::json(R"({"ok":true})");
  });
  s.route("GET", "/__control/stats", [this](const HttpRequest&) {
    const nlohmann::json j = {{"connections", m_server->connections()},
                              {"peak_in_flight", m_server->peak_in_flight()},
                              {"requests", m_server->requests().size()}};
    return HttpResponse::json(j.dump());
  });
}

nlohmann::json
WholeReplica::info() const
{
  nlohmann::json j;
  j["port"] = m_server->port();
  j["host"] = m_options.host;
  j["study_uid"] = m_study.study_instance_uid;
  const auto o = origin();
  nlohmann::json urls;
  switch (m_options.platform) {
  case WholePlatform::shdc:
    j["platform"] = "shdc";
    j["share_url"] = o + "/#/home?sid=" + m_values.at("sid") + "&token=" + m_values.at("token");
    urls["share_id"] = o + "/code.html?appid=" + m_values.at("appid")
                       + "&share_id=" + m_values.at("share_id") + "&ctype=5";
    urls["wrong_token"] = o + "/#/home?sid=" + m_values.at("sid") + "&token=" + hash_hex("wrong");
    break;
  case WholePlatform::zscloud:
    j["platform"] = "zscloud";
    j["share_url"] = o + "/film/#/shared?code=" + m_values.at("code");
    urls["unknown"] = o + "/film/#/shared?code=" + hash_hex("nosuchcode").substr(0, 16);
    break;
  case WholePlatform::mtywcloud:
    j["platform"] = "mtywcloud";
    j["share_url"] = o + "/ICCWebClient/Image/Viewer?AllowQuery=0&DicomDirPath="
                     + percent_encode(m_values.at("dicomdir"), false) + "&OrganizationID="
                     + m_values.at("org") + "&Anonymous=true&Token=" + m_values.at("viewer_token");
    urls["unknown"] = o + "/ICCWebClient/Image/Viewer?AllowQuery=0&DicomDirPath="
                      + percent_encode("http://bucket/none/DICOMDIR", false)
                      + "&OrganizationID=" + m_values.at("org") + "&Anonymous=true&Token=x";
    j["base"] = o;
    break;
  }
  j["share_urls"] = urls;
  j["routes"] = m_routes;
  auto images = nlohmann::json::array();
  for (const auto& series : m_files) {
    for (const auto& f : series) {
      images.push_back({{"sop_instance_uid", f.sop_instance_uid},
                        {"series_instance_uid", f.series_instance_uid},
                        {"name", f.name},
                        {"file", f.path},
                        {"junk", f.path.empty()}});
    }
  }
  j["images"] = images;
  return j;
}

nlohmann::json
WholeReplica::log() const
{
  std::map<std::string, std::string> names;
  for (const auto& [name, pattern] : m_routes) {
    names[pattern] = name;
  }
  auto out = nlohmann::json::array();
  for (const auto& r : m_server->requests()) {
    if (r.path.rfind("/__control/", 0) == 0) {
      continue;
    }
    auto headers = nlohmann::json::object();
    for (const auto& [k, v] : r.headers) {
      headers[k] = v;
    }
    const auto name = names.find(r.route);
    out.push_back({{"method", r.method},
                   {"path", r.path},
                   {"query", r.query},
                   {"headers", headers},
                   {"body", r.body},
                   {"route", name == names.end() ? std::string() : name->second},
                   {"number", r.number},
                   {"connection", r.connection},
                   {"time", std::chrono::duration<double>(r.time - m_start).count()}});
  }
  return out;
}

} // namespace replica
