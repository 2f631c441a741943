#!/usr/bin/env bash
# Installs the contract tools pinned in api/tools/package-lock.json (npm ci,
# no install scripts) into a cache directory keyed by the lock file's hash,
# and prints the directory whose node_modules/.bin holds them. A second run
# with the same lock file installs nothing.
#
#   bin="$(api/tools/install.sh)/node_modules/.bin"
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for tool in node npm sha256sum; do
	command -v "$tool" >/dev/null || {
		echo "install.sh: $tool is required (Debian: apt-get install -y nodejs npm)" >&2
		exit 2
	}
done
key=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
dir="${SPROCKET_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sprocket-contract-tools}/$key"
if [[ ! -x "$dir/node_modules/.bin/redocly" ]]; then
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$here/package.json" "$here/package-lock.json" "$dir/"
	(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo "$dir"
