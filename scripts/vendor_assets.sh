#!/usr/bin/env bash
# Fetch the vendored front-end assets from the npm registry (run by hand when bumping a version).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch() { (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null && mkdir -p "$1" && tar -xzf "$1"-"$2".tgz -C "$1" && rm "$1"-"$2".tgz); }
strip_map() { sed -i -E '/^\/[\/*][#@] sourceMappingURL=.*$/d' "$@"; }

fetch bootstrap 5.3.9
mkdir -p "$dest/bootstrap-5.3.9"
cp "$tmp/bootstrap/package/dist/css/bootstrap.min.css" "$tmp/bootstrap/package/dist/js/bootstrap.bundle.min.js" "$tmp/bootstrap/package/LICENSE" "$dest/bootstrap-5.3.9/"

fetch htmx.org 2.0.11
mkdir -p "$dest/htmx-2.0.11"
cp "$tmp/htmx.org/package/dist/htmx.min.js" "$tmp/htmx.org/package/LICENSE" "$dest/htmx-2.0.11/"

fetch leaflet 1.9.4
mkdir -p "$dest/leaflet-1.9.4/images"
cp "$tmp/leaflet/package/dist/leaflet.js" "$tmp/leaflet/package/dist/leaflet.css" "$tmp/leaflet/package/LICENSE" "$dest/leaflet-1.9.4/"
cp "$tmp/leaflet/package/dist/images/"*.png "$dest/leaflet-1.9.4/images/"


strip_map "$dest"/*/*.js "$dest"/*/*.css
cat > "$dest/VERSIONS" <<V
bootstrap 5.3.9 MIT (npm bootstrap@5.3.9)
htmx 2.0.11 0BSD (npm htmx.org@2.0.11)
leaflet 1.9.4 BSD-2-Clause (npm leaflet@1.9.4)
V
du -sh "$dest"/*
