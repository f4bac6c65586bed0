// SPDX-License-Identifier: GPL-3.0-or-later
// The in-browser viewer: OHIF's prebuilt dist (scripts/fetch-viewer.sh)
// served at the root of the origin, as its bundles expect (WEB.md 3.2), with
// an app-config.js pointing at this node's /dicom-web.
#pragma once

#include "message.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace web {

// The viewer folder to use: `configured` if set, else `ohif` beside the
// executable, else /usr/share/cloudfilm/ohif; nullopt if none holds index.html.
std::optional<std::filesystem::path> find_viewer(const std::filesystem::path& configured);

// A GET for a viewer file or route under `root`; nullopt if `request` is not
// the viewer's (the caller answers 404).
std::optional<Response> viewer_response(const std::filesystem::path& root, const Request& request);

} // namespace web
