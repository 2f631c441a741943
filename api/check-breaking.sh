#!/usr/bin/env bash
# Compares the published contracts with the last release and fails on a
# breaking change that CHANGELOG.md does not declare.
#
#   api/check-breaking.sh              the check (CI runs it)
#   api/check-breaking.sh --self-test  shows that the check fails on an
#                                      undeclared breaking change (a renamed
#                                      field in copies of the contracts) and
#                                      passes once the CHANGELOG declares it
#
# The last release is the highest version under api/releases/ (there are no
# git tags): its schema.graphql and openapi.json are what that release
# served. api/schema.graphql is compared with the first by
# @graphql-inspector/cli (api/tools, pinned), api/openapi.json with the
# second by oasdiff (a Go module, pinned below). A breaking change is
# declared by a line of the CHANGELOG's "## [Unreleased]" section that holds
# the tool's message: for GraphQL the change as graphql-inspector words it
# ("Field `name` was removed from object type `Factory`"), for OpenAPI the
# method, the path and oasdiff's text ("GET /v1/sprockets removed the
# required property 'sprockets/items/teeth' from the response with the
# '200' status"). See CHANGELOG.md and docs/development.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
oasdiff=github.com/oasdiff/oasdiff@v1.39.0
bin="$("$root/api/tools/install.sh")/node_modules/.bin"

last_release() { find "$root/api/releases" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n1; }

# unreleased CHANGELOG: the lines of its Unreleased section.
unreleased() { awk '/^## \[Unreleased\]/ {on = 1; next} /^## \[/ {on = 0} on' "$1"; }

# check RELEASE_DIR SCHEMA OPENAPI CHANGELOG: exits non-zero on an
# undeclared breaking change of either contract.
check() {
	local old=$1 sdl=$2 oas=$3 changelog=$4 status=0 declared
	declared=$(mktemp)
	unreleased "$changelog" >"$declared"
	echo "== GraphQL: $sdl against $(basename "$old")"
	DECLARED_CHANGES=$declared "$bin/graphql-inspector" diff "$old/schema.graphql" "$sdl" \
		--rule ignoreDescriptionChanges --rule "$root/api/tools/declared-breaking.js" 2>&1 |
		grep -v '[║╔╚]' || status=1
	# grep ends the pipeline; its status is graphql-inspector's (pipefail).
	echo "== OpenAPI: $oas against $(basename "$old")"
	if [[ -f $old/openapi.json ]]; then
		(cd "$root" && go run "$oasdiff" breaking "$old/openapi.json" "$oas" --fail-on ERR --err-ignore "$declared") || status=1
	else
		echo "$(basename "$old") has no OpenAPI document: nothing to compare"
	fi
	rm -f "$declared"
	return $status
}

release=$(last_release)

if [[ ${1:-} != --self-test ]]; then
	if check "$release" "$root/api/schema.graphql" "$root/api/openapi.json" "$root/CHANGELOG.md"; then
		echo "check-breaking: no undeclared breaking change since $(basename "$release")"
		exit 0
	fi
	echo "check-breaking: a breaking change since $(basename "$release") is not declared in CHANGELOG.md's Unreleased section" >&2
	exit 1
fi

# --self-test: rename Factory.name to title in a copy of the schema, and
# Sprocket.teeth to tooth in a copy of the OpenAPI document.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^type Factory / {f = 1} f && /^  name: String!$/ {sub("name", "title"); f = 0} {print}' \
	"$root/api/schema.graphql" >"$tmp/schema.graphql"
node -e '
const fs = require("fs");
const [src, dst] = process.argv.slice(1);
const doc = JSON.parse(fs.readFileSync(src, "utf8"));
const s = doc.components.schemas.Sprocket;
s.properties.tooth = s.properties.teeth;
delete s.properties.teeth;
s.required = s.required.map((p) => (p === "teeth" ? "tooth" : p));
fs.writeFileSync(dst, JSON.stringify(doc, null, 2));
' "$root/api/openapi.json" "$tmp/openapi.json"
if cmp -s "$tmp/schema.graphql" "$root/api/schema.graphql"; then
	echo "check-breaking --self-test: the rename did not apply to the schema" >&2
	exit 1
fi
cp "$root/CHANGELOG.md" "$tmp/CHANGELOG.md"
if check "$release" "$tmp/schema.graphql" "$tmp/openapi.json" "$tmp/CHANGELOG.md" >"$tmp/undeclared.log" 2>&1; then
	cat "$tmp/undeclared.log"
	echo "check-breaking --self-test: FAIL: undeclared renames passed the check" >&2
	exit 1
fi
echo "check-breaking --self-test: undeclared renames fail the check, as they must:"
grep -e '✖' -e 'error' "$tmp/undeclared.log" | head -n 8

# Declare them in the Unreleased section, in the tools' words.
{
	echo "### Breaking"
	echo '- Field `name` was removed from object type `Factory`: renamed to `title`.'
	(cd "$root" && go run "$oasdiff" breaking "$release/openapi.json" "$tmp/openapi.json" --format singleline) |
		sed -n 's/^error at [^,]*, in API /- /p'
} >"$tmp/declared.md"
awk -v decl="$tmp/declared.md" '{print} /^## \[Unreleased\]/ {while ((getline l < decl) > 0) print l}' \
	"$root/CHANGELOG.md" >"$tmp/CHANGELOG.md"
if ! check "$release" "$tmp/schema.graphql" "$tmp/openapi.json" "$tmp/CHANGELOG.md" >"$tmp/declared.log" 2>&1; then
	cat "$tmp/declared.log"
	echo "check-breaking --self-test: FAIL: the declared renames still fail the check" >&2
	exit 1
fi
echo "check-breaking --self-test: declared in the Unreleased section, the same renames pass:"
cat "$tmp/declared.md"
