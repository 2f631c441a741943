#!/usr/bin/env bash
# Runs the contracts' clients against a live sprocketd: the Postman
# collection (newman) and the client examples (examples/, a module of its
# own), after checking that the examples' generated code matches the
# published schema.
#
#   api/check-live.sh
#
# It builds sprocketd, serves a fresh seeded SQLite database on a free
# loopback port with an API token, and stops the server at the end.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$("$root/api/tools/install.sh")/node_modules/.bin"
tmp=$(mktemp -d)
pid=
cleanup() {
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== examples: generated code matches api/schema.graphql; vet; build"
(cd "$root/examples" && go generate ./... && go vet ./... && go build -o "$tmp/" ./graphql ./rest)
if ! (cd "$root" && git diff --quiet -- examples && [[ -z "$(git ls-files --others --exclude-standard -- examples)" ]]); then
	echo "check-live: go generate in examples/ changed the tree; commit the generated code" >&2
	(cd "$root" && git status --short -- examples)
	exit 1
fi

echo "== sprocketd on a seeded SQLite database"
(cd "$root" && go build -o "$tmp/sprocketd" ./cmd/sprocketd)
token=check-live-token-$RANDOM$RANDOM$RANDOM
ENV=development SEED=true DATABASE_URL="$tmp/sprocket.db" HOST=127.0.0.1 PORT=0 LOG_FORMAT=text \
	API_TOKENS="$token" "$tmp/sprocketd" serve >"$tmp/server.log" 2>&1 &
pid=$!
addr=
for _ in $(seq 1 100); do
	addr=$(grep -o 'msg=listening addr=[^ ]*' "$tmp/server.log" | sed 's/.*addr=//' || true)
	[[ -n $addr ]] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [[ -z $addr ]]; then
	cat "$tmp/server.log" >&2
	echo "check-live: sprocketd did not start" >&2
	exit 1
fi
base="http://$addr"

echo "== Postman collection (newman) against $base"
"$bin/newman" run "$root/api/postman/sprocket-v1.postman_collection.json" \
	--env-var "baseUrl=$base" --env-var "token=$token" --bail --color off --disable-unicode

echo "== examples against $base"
"$tmp/graphql" -url "$base/graphql" -token "$token"
"$tmp/rest" -url "$base" -token "$token"
echo "check-live: the Postman collection and the examples ran against sprocketd"
