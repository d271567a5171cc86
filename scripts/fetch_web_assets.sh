#!/usr/bin/env bash
# Re-fetch the front-end files the docs site ships, from the npm registry, into docs/assets/vendor/.
#
# Why vendored: mkdocs-material loads mermaid from a CDN unless a `mermaid` global already exists,
# and a sovereign install has no CDN. The site loads this copy first (mkdocs.yml,
# extra_javascript), so the architecture diagrams render with no request leaving the machine.
# Material 9.x is written against mermaid 11: keep the major version when bumping.
# Usage: scripts/fetch_web_assets.sh [MERMAID_VERSION]   (then review and commit the diff)
set -euo pipefail
cd "$(dirname "$0")/.."

mermaid_version=${1:-11.17.2}
dest=docs/assets/vendor/mermaid
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "mermaid@${mermaid_version}" >/dev/null)
tar -xzf "$work"/mermaid-"${mermaid_version}".tgz -C "$work" package/dist/mermaid.min.js package/LICENSE
mkdir -p "$dest"
cp "$work/package/dist/mermaid.min.js" "$dest/mermaid.min.js"
cp "$work/package/LICENSE" "$dest/LICENSE"
printf 'mermaid %s (MIT), dist/mermaid.min.js of the npm package, fetched by scripts/fetch_web_assets.sh\n' \
  "$mermaid_version" >"$dest/VERSION"
echo "fetch_web_assets: mermaid ${mermaid_version} -> ${dest}"
