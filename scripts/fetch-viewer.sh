#!/usr/bin/env bash
# Fetch the in-browser viewer, OHIF's prebuilt dist from the npm tarball (WEB.md 3.2), into
# build/ohif (or $1), where `cloudfilm serve` finds it beside the binary. Pinned version and
# integrity hash; the tarball is cached in ~/.cache/cloudfilm. Nothing is built: npm pack +
# tar only. Prunes what a CT/MR viewer does not load (onnxruntime, the microscopy viewer,
# source maps): 213 MB -> about 49 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
version=3.13.2
integrity="sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=="
dest=${1:-build/ohif}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/cloudfilm
tgz=$cache/ohif-app-$version.tgz

if [[ -f "$dest/.version" && "$(cat "$dest/.version")" == "$version" ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-viewer: npm missing (scripts/setup-deps.sh --test installs it)" >&2; exit 1; }
mkdir -p "$cache"
if [[ ! -f "$tgz" ]]; then
  (cd "$cache" && npm pack --silent "@ohif/app@$version" >/dev/null)
fi
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [[ "$got" != "$integrity" ]]; then
  rm -f "$tgz"
  echo "fetch-viewer: $tgz does not match the pinned integrity hash; removed, run again" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$tgz" -C "$tmp" package/dist
rm -rf "$tmp/package/dist/ort" "$tmp/package/dist/dicom-microscopy-viewer"
find "$tmp/package/dist" -name '*.map' -delete
# Netlify / serve leftovers; app-config.js is made by the node from its configuration.
rm -f "$tmp/package/dist/_headers" "$tmp/package/dist/_redirects" "$tmp/package/dist/serve.json" \
      "$tmp/package/dist/app-config.js"
echo "$version" > "$tmp/package/dist/.version"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tmp/package/dist" "$dest"
echo "fetch-viewer: OHIF $version in $dest ($(du -sh "$dest" | cut -f1))"
