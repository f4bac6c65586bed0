// SPDX-License-Identifier: GPL-3.0-or-later
// Static serving of the OHIF dist and its generated app-config.js.
#include "viewer.hpp"

#include <core/strings.hpp>

#include <unistd.h>

namespace web {

namespace fs = std::filesystem;

namespace {

// OHIF 3.13's window.config (WEB.md 2.2): one DICOMweb data source, same
// origin, frames as stored (transfer-syntax=*), lazy study loading.
const char* k_app_config = R"(window.config = {
  routerBasename: '/',
  extensions: [],
  modes: [],
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'cloudfilm',
  dataSources: [{
    namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
    sourceName: 'cloudfilm',
    configuration: {
      friendlyName: 'cloudfilm',
      name: 'cloudfilm',
      wadoUriRoot: '/dicom-web',
      qidoRoot: '/dicom-web',
      wadoRoot: '/dicom-web',
      qidoSupportsIncludeField: true,
      supportsReject: false,
      imageRendering: 'wadors',
      thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true,
      supportsFuzzyMatching: false,
      supportsWildcard: true,
      staticWado: false,
      omitQuotationForMultipartRequest: true,
      bulkDataURI: { enabled: true },
    },
  }],
};
)";

std::string
media_type(const fs::path& file)
{
  const auto ext = core::to_lower_ascii(file.extension().string());
  if (ext == ".js" || ext == ".mjs") {
    return "text/javascript; charset=utf-8";
  }
  if (ext == ".css") {
    return "text/css; charset=utf-8";
  }
  if (ext == ".html") {
    return "text/html; charset=utf-8";
  }
  if (ext == ".wasm") {
    return "application/wasm"; // else Chrome cannot compile it streaming
  }
  if (ext == ".json" || ext == ".map") {
    return "application/json";
  }
  if (ext == ".svg") {
    return "image/svg+xml";
  }
  if (ext == ".png") {
    return "image/png";
  }
  if (ext == ".ico") {
    return "image/x-icon";
  }
  if (ext == ".woff2") {
    return "font/woff2";
  }
  if (ext == ".woff") {
    return "font/woff";
  }
  if (ext == ".ttf") {
    return "font/ttf";
  }
  if (ext == ".txt") {
    return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}

bool
has_index(const fs::path& dir)
{
  std::error_code ec;
  return !dir.empty() && fs::is_regular_file(dir / "index.html", ec);
}

} // namespace

std::optional<fs::path>
find_viewer(const fs::path& configured)
{
  if (!configured.empty()) {
    return has_index(configured) ? std::optional<fs::path>(configured) : std::nullopt;
  }
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && has_index(exe.parent_path() / "ohif")) {
    return exe.parent_path() / "ohif";
  }
  if (has_index("/usr/share/cloudfilm/ohif")) {
    return fs::path("/usr/share/cloudfilm/ohif");
  }
  return std::nullopt;
}

std::optional<Response>
viewer_response(const fs::path& root, const Request& request)
{
  if (request.method != "GET" && request.method != "HEAD") {
    return std::nullopt;
  }
  const auto& path = request.path;
  if (path == "/app-config.js") {
    Response r;
    r.body = k_app_config;
    r.content_type = "text/javascript; charset=utf-8";
    r.set("Cache-Control", "no-cache");
    return r;
  }
  // Only plain names below the root: no dot segments, no hidden files.
  for (const auto& part : core::split(path, '/')) {
    if (!part.empty() && part[0] == '.') {
      return std::nullopt;
    }
  }
  const auto file = root / fs::path(path.substr(1));
  std::error_code ec;
  Response r;
  if (path.size() > 1 && fs::is_regular_file(file, ec)) {
    r.file = file;
    r.content_type = media_type(file);
    const auto name = file.filename().string();
    // Hashed bundles never change under their name; the rest is revalidated.
    r.set("Cache-Control", name.find(".bundle.") != std::string::npos || file.extension() == ".wasm"
                               ? "public, max-age=31536000, immutable"
                               : "no-cache");
    return r;
  }
  // OHIF's own routes (/viewer, /localbasic, ...) are its single page.
  if (file.extension().empty()) {
    r.file = root / "index.html";
    r.content_type = "text/html; charset=utf-8";
    r.set("Cache-Control", "no-cache");
    return r;
  }
  return std::nullopt;
}

} // namespace web
