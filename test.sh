#!/usr/bin/env bash
# Installs what the tests need — quickly, and only what is missing — then runs every test project.
#   python3-grpcio (Debian, gRPC C-core 1.51) for tests/clients/python, run with /usr/bin/python3
#   openssl (Debian) for the CA tests, which check issued certificates with the real tool
#   kubernetes-client (Debian's kubectl) for the Kubernetes tests, which check the test API server with the real client
#   chromium (Debian) for the status page test, which loads the page in a real headless browser
#   @grpc/grpc-js-xds (npm ci from the committed lockfile) for tests/clients/node
# Grpc.Core (tests/clients/GrpcCoreClient) comes from NuGet with the solution build.
# Last, a short load run (benchmarks/XdsLoad --scenario ci, SotW and delta) must converge without a NACK, so must a tiny
# MeshHost-mode run, and a short DiscoveryLoad run must fill the service registry from the test Kubernetes API server.
# Each stage says how it went in one line at the end (also when a stage fails and the script stops there), closing with
# the test count.
set -euo pipefail
cd "$(dirname "$0")"

summary=()
current=""
tests_passed=0
tests_failed=0
tests_skipped=0

print_summary() {
  local status=$?
  if [ -n "$current" ]; then
    summary+=("test.sh: $current: FAILED (exit $status)")
  fi
  echo
  for line in "${summary[@]}"; do
    echo "$line"
  done
  echo "test.sh: $tests_passed passed, $tests_failed failed, $tests_skipped skipped"
}
trap print_summary EXIT

# stage NAME COMMAND...: runs the command as one stage; its summary line says passed, or FAILED (and the script stops).
stage() {
  current="$1"
  shift
  "$@"
  summary+=("test.sh: $current: passed${stage_detail:+ ($stage_detail)}")
  current=""
  stage_detail=""
}
stage_detail=""

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi

# Debian packages: python3-grpcio for the Python xDS client, openssl for the CA tests (the real tool), kubectl for
# the Kubernetes tests (the real client of tests/XdsServer.Kubernetes.Tests/ApiServer/TestApiServer.cs).
# chromium for the status page's browser test (headless).
install_packages() {
  local missing=()
  for package in python3-grpcio openssl chromium; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  # Any kubectl on PATH will do; Debian's kubernetes-client only when there is none (not over another one).
  command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    stage_detail="installed ${missing[*]}"
  else
    stage_detail="all present"
  fi
}
stage "Debian packages" install_packages

install_node_client() {
  local node_dir=tests/clients/node
  local stamp="$node_dir/node_modules/.lockfile.sha256"
  local lock_hash
  lock_hash=$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
    echo "test.sh: npm ci in $node_dir"
    (cd "$node_dir" && npm ci --no-audit --no-fund)
    echo "$lock_hash" > "$stamp"
    stage_detail="npm ci"
  else
    stage_detail="up to date"
  fi
}
stage "node xDS client" install_node_client

# Runs one `dotnet test`, keeping its output to count the tests: each test assembly ends with a line
# "Passed!  - Failed: F, Passed: P, Skipped: S, Total: T, ..." (or "Failed!  - ..."); the counts add up over stages.
run_dotnet_tests() {
  local log
  log=$(mktemp)
  local status=0
  dotnet test "$@" 2>&1 | tee "$log" || status=$?
  local counts passed failed skipped
  counts=$(grep -oE '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" \
    | awk -F'[:,]' '{ f += $2; p += $4; s += $6 } END { printf "%d %d %d", p, f, s }')
  rm -f "$log"
  read -r passed failed skipped <<<"${counts:-0 0 0}"
  tests_passed=$((tests_passed + passed))
  tests_failed=$((tests_failed + failed))
  tests_skipped=$((tests_skipped + skipped))
  stage_detail="$passed tests, $skipped skipped"
  if [ "$status" -ne 0 ]; then
    current="$current ($failed of $((passed + failed)) tests failed)"
    return "$status"
  fi
}
# The interop assembly starts real client processes: it runs alone, after the others, not next to them on the CPU.
stage "dotnet test Xds.sln" run_dotnet_tests Xds.sln -c Release --filter "FullyQualifiedName!~XdsServer.Interop.Tests"
stage "dotnet test XdsServer.Interop.Tests (alone)" run_dotnet_tests tests/XdsServer.Interop.Tests -c Release --no-build

# A short load run against XdsLoad.Server in its own process: 200 simulated proxies, initial sync and 5 churn
# updates, SotW then delta. It fails the script when a proxy does not converge or a NACK appears on either side
# (a correctness check, not a timing check). `dotnet test` builds only the test projects and what they reference,
# so the load tool (and the server it starts) is built here once.
stage "build XdsLoad" dotnet build benchmarks/XdsLoad -c Release -nologo -v quiet
stage "build DiscoveryLoad" dotnet build benchmarks/DiscoveryLoad -c Release -nologo -v quiet
for protocol in sotw delta; do
  stage "XdsLoad ci $protocol" dotnet run -c Release --no-build --project benchmarks/XdsLoad -- --scenario ci --protocol "$protocol"
done

# The check itself must catch a NACK: in the nack self-test every proxy rejects a cluster, so it has to fail.
nack_self_test() {
  local nack_out
  if nack_out=$(dotnet run -c Release --no-build --project benchmarks/XdsLoad -- --scenario nack --protocol sotw 2>&1); then
    echo "$nack_out"
    echo "test.sh: XdsLoad --check passed a run in which every proxy NACKed"
    return 1
  fi
  if ! grep -q "check: FAILED: .*NACKs: 20 by proxies, 20 seen by the server" <<<"$nack_out"; then
    echo "$nack_out"
    echo "test.sh: the XdsLoad nack self-test failed for another reason than the expected NACKs"
    return 1
  fi
}
stage "XdsLoad nack self-test" nack_self_test

# And a lost update: in the drop self-test every other proxy ACKs the update but keeps its old resources, so the
# held-resource check (each proxy's resources against what the server published) has to fail, naming those 10.
drop_self_test() {
  local drop_out
  if drop_out=$(dotnet run -c Release --no-build --project benchmarks/XdsLoad -- --scenario drop --protocol sotw 2>&1); then
    echo "$drop_out"
    echo "test.sh: XdsLoad --check passed a run in which proxies kept resources the server had replaced"
    return 1
  fi
  if ! grep -q "check: FAILED: held resources after updates: 10/20 proxies differ from what the server published" <<<"$drop_out"; then
    echo "$drop_out"
    echo "test.sh: the XdsLoad drop self-test failed for another reason than the dropped update"
    return 1
  fi
}
stage "XdsLoad drop self-test" drop_self_test

# The MeshHost mode at a tiny size (20 sidecars of a 10-service mesh, one endpoint, VirtualService and new-service
# change each): every proxy that must receive a change converges, none NACKs (a correctness check, not a timing check).
for protocol in sotw delta; do
  stage "XdsLoad meshhost $protocol" dotnet run -c Release --no-build --project benchmarks/XdsLoad -- --server meshhost \
    --proxies 20 --services 10 --namespaces 5 --pods-per-service 2 --updates 1 --timeout 30s --check --protocol "$protocol"
done

# A short DiscoveryLoad run (benchmarks/README.md): the live Kubernetes source against the test API server in its own
# process must fill the registry with every seeded object, and each readiness flip must reach a registry watch
# within 30 s; the tool fails otherwise (a correctness check, not a timing check).
stage "DiscoveryLoad" dotnet benchmarks/DiscoveryLoad/bin/Release/net10.0/DiscoveryLoad.dll --services 20 --flips 5
