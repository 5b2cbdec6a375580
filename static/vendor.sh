#!/usr/bin/env bash
# Copy the front-end dist files the map pages need from node_modules into
# static/vendor/<pkg>/, so the pages load with no CDN and no npm at runtime.
# The copied files are committed; node_modules is not (keep it git-ignored).
#
# Usage: bash static/vendor.sh        (from anywhere; needs node/npm only
#                                      when node_modules is missing or stale)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/static/vendor"
cd "$root"

# Reinstall exactly what package-lock.json pins when node_modules is missing
# or older than the lock file.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund
fi

# copy <package> <file relative to the package>... -> static/vendor/<package>/
copy() {
    local pkg="$1"
    shift
    local src="node_modules/$pkg" rel
    for rel in "$@"; do
        local dest="$vendor/$pkg/${rel#dist/}"
        mkdir -p "$(dirname "$dest")"
        cp "$src/$rel" "$dest"
    done
}

rm -rf "${vendor:?}"
mkdir -p "$vendor"

# leaflet: the minified build, its stylesheet and the images the stylesheet
# and L.Icon.Default refer to (layer-control icon, default marker).
copy leaflet \
    LICENSE \
    dist/leaflet.js \
    dist/leaflet.css \
    dist/images/layers.png \
    dist/images/layers-2x.png \
    dist/images/marker-icon.png \
    dist/images/marker-icon-2x.png \
    dist/images/marker-shadow.png

# Leaflet.VectorGrid: draws the map's Mapbox vector tiles (/tiles/...pbf); the bundled build carries its
# protobuf decoder. Beerware-licensed; its licence text is the header of the file itself.
copy leaflet.vectorgrid \
    dist/Leaflet.VectorGrid.bundled.min.js

# Leaflet.heat: the supervisors' map draws its heat layer from counts the server aggregates (maps/heat).
copy leaflet.heat \
    LICENSE \
    dist/leaflet-heat.js

# exifr: reads a photo's EXIF (GPS, time, orientation) on the phone before it is resized (report page).
# The "lite" build reads JPEG and HEIC (IFD0, EXIF, GPS), which is all the page needs.
copy exifr \
    LICENSE \
    dist/lite.umd.js

# Apache ECharts: the dashboard's charts (static/dashboard.js). The "common" build (line, bar, pie and the usual
# components) is the one without the full build's `new Function` GeoJSON fallback, so it runs under a CSP with no
# 'unsafe-eval'. Apache-2.0: its LICENSE and NOTICE go with it.
copy echarts \
    LICENSE \
    NOTICE \
    dist/echarts.common.min.js

# Swagger UI: the API docs page (/api/docs) renders /api/v1/openapi.json with it. The bundle builds its DOM through
# React (no inline scripts, no eval), so it runs under the strict CSP. Apache-2.0: its LICENSE and NOTICE go with it.
copy swagger-ui-dist \
    LICENSE \
    NOTICE \
    swagger-ui-bundle.js \
    swagger-ui.css

# axe-core: the accessibility engine the Chromium tests inject (tests/test_a11y_browser.py). It is never
# served to users, so it goes to tests/vendor/, not static/vendor/.
tests_vendor="$root/tests/vendor/axe-core"
rm -rf "$tests_vendor"
mkdir -p "$tests_vendor"
cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE "$tests_vendor/"

echo "vendored into ${vendor#"$root"/}:"
(cd "$vendor" && find . -type f | sort && du -sh .)
