#!/usr/bin/env bash
# Installs what the tests need — quickly, and only what is missing — then runs every test project.
#   python3-grpcio (Debian, gRPC C-core 1.51) for tests/clients/python, run with /usr/bin/python3
#   @grpc/grpc-js-xds (npm ci from the committed lockfile) for tests/clients/node
# Grpc.Core (tests/clients/GrpcCoreClient) comes from NuGet with the solution build.
set -euo pipefail
cd "$(dirname "$0")"

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi

if ! dpkg -s python3-grpcio >/dev/null 2>&1; then
  echo "test.sh: installing python3-grpcio"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-grpcio
fi

node_dir=tests/clients/node
stamp="$node_dir/node_modules/.lockfile.sha256"
lock_hash=$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "test.sh: npm ci in $node_dir"
  (cd "$node_dir" && npm ci --no-audit --no-fund)
  echo "$lock_hash" > "$stamp"
fi

dotnet test Xds.sln -c Release
