#!/usr/bin/env bash
# Installs what the tests need — quickly, and only what is missing — then runs every test project.
#   python3-grpcio (Debian, gRPC C-core 1.51) for tests/clients/python, run with /usr/bin/python3
#   openssl (Debian) for the CA tests, which check issued certificates with the real tool
#   kubernetes-client (Debian's kubectl) for the Kubernetes tests, which check the test API server with the real client
#   @grpc/grpc-js-xds (npm ci from the committed lockfile) for tests/clients/node
# Grpc.Core (tests/clients/GrpcCoreClient) comes from NuGet with the solution build.
# Last, a short load run (benchmarks/XdsLoad --scenario ci, SotW and delta) must converge without a NACK, so must a tiny
# MeshHost-mode run, and a short DiscoveryLoad run must fill the service registry from the test Kubernetes API server.
set -euo pipefail
cd "$(dirname "$0")"

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi

# Debian packages: python3-grpcio for the Python xDS client, openssl for the CA tests (the real tool), kubectl for
# the Kubernetes tests (the real client of tests/XdsServer.Kubernetes.Tests/ApiServer/TestApiServer.cs).
missing=()
for package in python3-grpcio openssl; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
# Any kubectl on PATH will do; Debian's kubernetes-client only when there is none (not over another one).
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

node_dir=tests/clients/node
stamp="$node_dir/node_modules/.lockfile.sha256"
lock_hash=$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "test.sh: npm ci in $node_dir"
  (cd "$node_dir" && npm ci --no-audit --no-fund)
  echo "$lock_hash" > "$stamp"
fi

# The interop assembly starts real client processes: it runs alone, after the others, not next to them on the CPU.
dotnet test Xds.sln -c Release --filter "FullyQualifiedName!~XdsServer.Interop.Tests"
dotnet test tests/XdsServer.Interop.Tests -c Release --no-build

# A short load run against XdsLoad.Server in its own process: 200 simulated proxies, initial sync and 5 churn
# updates, SotW then delta. It fails the script when a proxy does not converge or a NACK appears on either side
# (a correctness check, not a timing check). `dotnet test` builds only the test projects and what they reference,
# so the load tool (and the server it starts) is built here once.
dotnet build benchmarks/XdsLoad -c Release -nologo -v quiet
dotnet build benchmarks/DiscoveryLoad -c Release -nologo -v quiet
for protocol in sotw delta; do
  dotnet run -c Release --no-build --project benchmarks/XdsLoad -- --scenario ci --protocol "$protocol"
done

# The check itself must catch a NACK: in the nack self-test every proxy rejects a cluster, so it has to fail.
if nack_out=$(dotnet run -c Release --no-build --project benchmarks/XdsLoad -- --scenario nack --protocol sotw 2>&1); then
  echo "$nack_out"
  echo "test.sh: XdsLoad --check passed a run in which every proxy NACKed"
  exit 1
fi
if ! grep -q "check: FAILED: .*NACKs: 20 by proxies, 20 seen by the server" <<<"$nack_out"; then
  echo "$nack_out"
  echo "test.sh: the XdsLoad nack self-test failed for another reason than the expected NACKs"
  exit 1
fi

# The MeshHost mode at a tiny size (20 sidecars of a 10-service mesh, one endpoint, VirtualService and new-service
# change each): every proxy that must receive a change converges, none NACKs (a correctness check, not a timing check).
for protocol in sotw delta; do
  dotnet run -c Release --no-build --project benchmarks/XdsLoad -- --server meshhost --proxies 20 --services 10 \
    --namespaces 5 --pods-per-service 2 --updates 1 --timeout 30s --check --protocol "$protocol"
done

# A short DiscoveryLoad run (benchmarks/README.md): the live Kubernetes source against the test API server in its own
# process must fill the registry with every seeded object, and each readiness flip must reach a registry watch
# within 30 s; the tool fails otherwise (a correctness check, not a timing check).
dotnet benchmarks/DiscoveryLoad/bin/Release/net10.0/DiscoveryLoad.dll --services 20 --flips 5
