#!/usr/bin/env bash
# `make run`: the loopback demo. Starts the origin (python3's http.server on etc/outrider/demo/origin), runs the
# daemon in the foreground on etc/outrider/demo.yaml, prints the URLs to try once it answers, and stops the origin
# when the daemon stops (Ctrl-C stops the daemon gracefully).
#
# usage: run.sh OUTRIDER_BINARY    (ports from DEMO_PORT, DEMO_ORIGIN_PORT, DEMO_ADMIN_PORT)
set -euo pipefail

binary=${1:?usage: run.sh OUTRIDER_BINARY}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
config=$(cd "$here/.." && pwd)/demo.yaml
export OUTRIDER_DEMO_PORT=${DEMO_PORT:-8080}
export OUTRIDER_DEMO_ORIGIN_PORT=${DEMO_ORIGIN_PORT:-8000}
export OUTRIDER_DEMO_ADMIN_PORT=${DEMO_ADMIN_PORT:-9901}
export OUTRIDER_DEMO_CACHE_DIR=$(mktemp -d /tmp/outrider-demo-cache.XXXXXX)
# Modified a day ago, the origin's files are fresh for 2.4 hours by RFC 9111's heuristic (10% of their age).
touch -d '1 day ago' "$here/origin/"* 2>/dev/null || true
export OUTRIDER_DEMO_GOSSIP_PORT=${DEMO_GOSSIP_PORT:-7946}
export OUTRIDER_DEMO_PEER_PORT=${DEMO_PEER_PORT:-9902}
# The coordinator's SQLite file lives as long as the demo.
OUTRIDER_DEMO_STATE=$(mktemp -d)
export OUTRIDER_DEMO_STATE

# Whether something accepts connections on 127.0.0.1:PORT.
listening() {
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()' "$1" 2>/dev/null
}

for port in "$OUTRIDER_DEMO_PORT" "$OUTRIDER_DEMO_ORIGIN_PORT" "$OUTRIDER_DEMO_ADMIN_PORT" "$OUTRIDER_DEMO_GOSSIP_PORT" "$OUTRIDER_DEMO_PEER_PORT"; do
    if listening "$port"; then
        echo "demo: 127.0.0.1:$port is in use; choose other ports, e.g. make run DEMO_PORT=18080 DEMO_ORIGIN_PORT=18000 DEMO_ADMIN_PORT=19901 DEMO_GOSSIP_PORT=17946" >&2
        exit 1
    fi
done

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$OUTRIDER_DEMO_CACHE_DIR"
    rm -rf "$OUTRIDER_DEMO_STATE"
}
trap cleanup EXIT

# Background jobs of a script ignore SIGINT, so Ctrl-C reaches only the daemon; the origin stops in `cleanup`.
python3 -m http.server "$OUTRIDER_DEMO_ORIGIN_PORT" --bind 127.0.0.1 --directory "$here/origin" >/dev/null 2>&1 &
origin=$!
pids+=("$origin")
for _ in $(seq 50); do
    listening "$OUTRIDER_DEMO_ORIGIN_PORT" && break
    kill -0 "$origin" 2>/dev/null || { echo "demo: the origin (python3 -m http.server) did not start" >&2; exit 1; }
    sleep 0.1
done

announce() {
    for _ in $(seq 100); do
        if listening "$OUTRIDER_DEMO_ADMIN_PORT" && listening "$OUTRIDER_DEMO_PORT"; then
            cat >&2 <<URLS

  outrider demo: the proxy role on 127.0.0.1:$OUTRIDER_DEMO_PORT, with the cache role (disk store), in front of an origin on 127.0.0.1:$OUTRIDER_DEMO_ORIGIN_PORT
    curl -i http://127.0.0.1:$OUTRIDER_DEMO_PORT/hello.txt    a file from the origin, through the proxy (Cache-Status: outrider; fwd=uri-miss; ...; stored)
    curl -si http://127.0.0.1:$OUTRIDER_DEMO_PORT/hello.txt | grep -i cache-status    again: Cache-Status: outrider; hit; ttl=...
    curl http://127.0.0.1:$OUTRIDER_DEMO_ADMIN_PORT/v1/cache/stats    the cache's hits, misses, bytes and objects
    curl http://127.0.0.1:$OUTRIDER_DEMO_PORT/v1/health        the proxy's own health answer
    curl http://127.0.0.1:$OUTRIDER_DEMO_ADMIN_PORT/metrics           Prometheus metrics (outrider_proxy_*)
    curl http://127.0.0.1:$OUTRIDER_DEMO_ADMIN_PORT/v1/status         roles, sites and backends as JSON
    $binary members --admin 127.0.0.1:$OUTRIDER_DEMO_ADMIN_PORT    the gossip cluster (one member, on 127.0.0.1:$OUTRIDER_DEMO_GOSSIP_PORT)
    $binary coordinator leader --admin 127.0.0.1:$OUTRIDER_DEMO_ADMIN_PORT    the coordinator's leader (this member)
    curl -X PUT --data-binary v1 http://127.0.0.1:$OUTRIDER_DEMO_ADMIN_PORT/v1/coordinator/kv/config    a write through the leader
  Ctrl-C stops the daemon and the origin.

URLS
            return
        fi
        sleep 0.1
    done
}
announce &
pids+=("$!")

status=0
"$binary" run --config "$config" || status=$?
exit "$status"
