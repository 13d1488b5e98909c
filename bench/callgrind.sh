#!/usr/bin/env bash
# User-space instructions per proxied 1 KiB request, counted by callgrind: repeatable where wall-clock numbers
# on this 2-core machine are not.
#
#   bench/callgrind.sh [BINARY...]
#   CACHE=1 bench/callgrind.sh [BINARY...]     instructions per 1 KiB cache hit instead (cache role, disk store)
#
# For each binary (default: .build-release/release/outrider, built by `make release`), a copy stripped of DWARF
# runs the proxy role (one event loop thread) under `valgrind --tool=callgrind` in front of an nginx static-file
# backend; after a 3 s warm-up under wrk the counters are zeroed (`callgrind_control -z`), then `wrk -t1 -c16`
# runs for 10 s, and the total instructions are divided by the requests wrk completed. Several binaries are
# measured one after the other in the same run, so their counts compare directly.
set -euo pipefail
cd "$(dirname "$0")/.."
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench/callgrind.sh needs $1 (apt-get install $2)" >&2; exit 1; }; }
need nginx nginx-light; need wrk wrk; need valgrind valgrind; need callgrind_control valgrind

binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=("$PWD/.build-release/release/outrider")

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

backend=18700; proxy=18701; admin=18702
. bench/backend.sh
write_backend "$work" "$backend"
cat > "$work/outrider.yaml" <<CONF
admin: {listen: "127.0.0.1:$admin"}
log: {level: error}
event_loop: {threads: 1}
roles:
  proxy:
    listen: ["127.0.0.1:$proxy"]
    sites: [{pools: ["http://127.0.0.1:$backend"]}]
    health: {path: /health}
CONF
if [ -n "${CACHE:-}" ]; then
    # The origin gives its files an hour of freshness; every measured request is a hit.
    sed -i "s|server { listen 127.0.0.1:$backend; root $work/www; }|server { listen 127.0.0.1:$backend; root $work/www; expires 1h; }|" "$work/backend.conf"
    mkdir -p "$work/cache"
    cat >> "$work/outrider.yaml" <<CONF
  cache:
    store: {disk: {path: "$work/cache", max_size: 1GiB}}
CONF
fi
nginx -p "$work" -c "$work/backend.conf" & pids+=($!)

for binary in "${binaries[@]}"; do
    stripped="$work/outrider-stripped"
    cp "$binary" "$stripped"
    strip --strip-debug "$stripped"
    valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$work/callgrind.out" \
        "$stripped" run --config "$work/outrider.yaml" 2>"$work/logs/valgrind.err" &
    pid=$!
    for _ in $(seq 300); do curl -fs "http://127.0.0.1:$proxy/1k.bin" -o /dev/null && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:$proxy/1k.bin" -o /dev/null || { echo "the proxy under valgrind does not serve" >&2; exit 1; }
    if [ -n "${CACHE:-}" ]; then
        curl -fsi "http://127.0.0.1:$proxy/1k.bin" -o /dev/null -D - | grep -qi "cache-status: outrider; hit" \
            || { echo "the cache does not answer hits" >&2; exit 1; }
    fi
    wrk -t1 -c16 -d3s "http://127.0.0.1:$proxy/1k.bin" >/dev/null
    callgrind_control -z "$pid" >/dev/null 2>&1
    requests=$(wrk -t1 -c16 -d10s "http://127.0.0.1:$proxy/1k.bin" | awk '/requests in/ {print $1}')
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -INT "$pid"; wait "$pid" 2>/dev/null || true
    total=$(for file in "$work"/callgrind.out*; do awk '/^summary:|^totals:/ {print $2}' "$file"; done | sort -n | tail -1)
    python3 -c "import sys; t, r = int(sys.argv[1]), int(sys.argv[2]); print(f'{sys.argv[3]}: {t:,} instructions / {r:,} requests = {t / r:,.0f} per request')" \
        "$total" "$requests" "$binary"
    # KEEP=DIR keeps each binary's profiles there, for callgrind_annotate.
    if [ -n "${KEEP:-}" ]; then
        mkdir -p "$KEEP/$(basename "$binary")"
        cp "$work"/callgrind.out* "$KEEP/$(basename "$binary")/"
    fi
    rm -f "$work"/callgrind.out*
done
