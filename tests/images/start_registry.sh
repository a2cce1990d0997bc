#!/usr/bin/env bash
# Starts Debian's CNCF distribution registry (/usr/bin/docker-registry) on a free
# loopback port with filesystem storage under WORKDIR. Never touches the network
# beyond 127.0.0.1.
#
#   tests/images/start_registry.sh WORKDIR [HTPASSWD_FILE]
#
# Prints the port on stdout once GET /v2/ answers. Writes WORKDIR/registry.pid
# (stop it with: kill "$(cat WORKDIR/registry.pid)"), WORKDIR/registry.port,
# WORKDIR/registry.log, WORKDIR/config.yml; blobs live in WORKDIR/storage.
# With HTPASSWD_FILE (bcrypt entries), the registry requires Basic auth.
set -euo pipefail

work=${1:?usage: start_registry.sh WORKDIR [HTPASSWD_FILE]}
htpasswd=${2:-}
registry=${DOCKER_REGISTRY:-/usr/bin/docker-registry}
[ -x "$registry" ] || { echo "start_registry: $registry not found (apt-get install docker-registry)" >&2; exit 2; }
mkdir -p "$work/storage"

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

{
  echo "version: 0.1"
  echo "log:"
  echo "  level: warn"
  echo "storage:"
  echo "  filesystem:"
  echo "    rootdirectory: $work/storage"
  echo "  delete:"
  echo "    enabled: true"
  echo "http:"
  echo "  addr: 127.0.0.1:$port"
  echo "  headers:"
  echo "    X-Content-Type-Options: [nosniff]"
  if [ -n "$htpasswd" ]; then
    echo "auth:"
    echo "  htpasswd:"
    echo "    realm: berth-test"
    echo "    path: $htpasswd"
  fi
} > "$work/config.yml"

# No proxies, no outbound anything: the registry only serves.
env -i PATH=/usr/bin:/bin "$registry" serve "$work/config.yml" > "$work/registry.log" 2>&1 &
pid=$!
echo "$pid" > "$work/registry.pid"
echo "$port" > "$work/registry.port"

for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start_registry: registry exited; log:" >&2
    cat "$work/registry.log" >&2
    exit 1
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' "http://127.0.0.1:$port/v2/" || true)
  if [ "$code" = 200 ] || [ "$code" = 401 ]; then
    echo "$port"
    exit 0
  fi
  sleep 0.1
done
echo "start_registry: registry did not answer on 127.0.0.1:$port" >&2
kill "$pid" 2>/dev/null || true
exit 1
