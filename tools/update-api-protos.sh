#!/usr/bin/env bash
# Brings the Envoy/xDS API protos into api-protos/ from the npm package @grpc/grpc-js-xds (folder deps/).
# Deterministic: running it twice leaves no diff. Needs npm and tar; uses the machine's npm registry config.
set -euo pipefail

PACKAGE="@grpc/grpc-js-xds"
VERSION="1.14.1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/api-protos"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work"
deps="$work/package/deps"

rm -rf "$dest"
mkdir -p "$dest"
# Only .proto files: the package also carries build files and tests of its submodules.
copy_protos() { # <from> <to>
  (cd "$1" && find . -name '*.proto' -type f | LC_ALL=C sort) | while read -r f; do
    mkdir -p "$2/$(dirname "$f")"
    tr -d '\r' <"$1/$f" >"$2/$f"
  done
}
copy_protos "$deps/envoy-api" "$dest"
copy_protos "$deps/xds" "$dest"
copy_protos "$deps/googleapis" "$dest"
mkdir -p "$dest/validate"
tr -d '\r' <"$deps/protoc-gen-validate/validate/validate.proto" >"$dest/validate/validate.proto"

# The one known patch (see shared DESIGN.md): validate.proto in this package lacks StringRules.ignore_empty,
# which 24 Envoy files use. Insert it after field 25 (well_known_regex's strict flag) if it is missing.
validate="$dest/validate/validate.proto"
if ! grep -q 'ignore_empty *= *26' "$validate"; then
  awk '
    /^message StringRules \{/ { in_rules = 1 }
    in_rules && /optional bool strict = 25/ {
      print
      print ""
      print "    // Signals that a string field may be empty; its other rules apply only when it is set."
      print "    // (Added by tools/update-api-protos.sh: used by Envoy protos, missing from the shipped copy.)"
      print "    optional bool ignore_empty = 26;"
      in_rules = 0
      next
    }
    { print }
  ' "$validate" >"$validate.new"
  mv "$validate.new" "$validate"
  grep -q 'ignore_empty = 26' "$validate" || { echo "patch of validate.proto failed" >&2; exit 1; }
fi

cp "$root/tools/api-protos-LICENSE" "$dest/LICENSE"
cp "$root/tools/api-protos-NOTICE" "$dest/NOTICE"
echo "api-protos: $(find "$dest" -name '*.proto' | wc -l) files from $PACKAGE@$VERSION"
bash "$root/tools/update-api-closure.sh"
