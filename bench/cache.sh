#!/usr/bin/env bash
# Side-by-side cache benchmark on loopback: nginx proxy_cache (one worker, cache on local disk) and outrider's
# cache role (disk store, one event loop thread), in front of the same nginx static-file origin, loaded by wrk.
#
#   bench/cache.sh [DURATION_SECONDS]       ROUNDS=3 MISSES=15 MISS_CPU=1 MISS_FIFO=1 SPIN=1 by default
#
# Prints requests/s, p50 and p99 of hits of a 1 KiB and a 1 MiB object at 64 connections for each, and the ratios
# outrider/nginx; then the time to first byte and total time of misses of a 100 MiB object (MISSES samples, 15 by
# default, through bench/ttfb.py) through each, through outrider with the proxy role only, and from the origin
# directly. The caches run on CPU 1; the origin and wrk share CPU 0; the miss client runs on MISS_CPU (1).
# ROUNDS=0 measures the misses only.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench/cache.sh needs $1 (apt-get install $2)" >&2; exit 1; }; }
need nginx nginx-light; need wrk wrk; need taskset util-linux; need curl curl

outrider="${OUTRIDER:-$PWD/.build-release/release/outrider}"
if [ -z "${OUTRIDER:-}" ]; then
    make -s release >/dev/null
fi

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

origin=18700; via_nginx=18701; via_outrider=18702; admin=18703
. bench/backend.sh
write_backend "$work" "$origin"
head -c $((100 * 1024 * 1024)) /dev/urandom > "$work/www/100m.bin"
# The origin gives every file an hour of freshness, so both caches store it on its explicit lifetime.
sed -i "s|server { listen 127.0.0.1:$origin; root $work/www; }|server { listen 127.0.0.1:$origin; root $work/www; expires 1h; }|" "$work/backend.conf"
mkdir -p "$work/nginx-cache" "$work/outrider-cache"
chown nobody "$work/nginx-cache" 2>/dev/null || true

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $work/logs/nginx.err warn;
pid $work/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    proxy_cache_path $work/nginx-cache levels=1:2 keys_zone=cache:64m max_size=2g inactive=1h use_temp_path=off;
    upstream origin { server 127.0.0.1:$origin; keepalive 128; }
    server {
        listen 127.0.0.1:$via_nginx;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache cache;
            proxy_cache_lock on;
            add_header Cache-Status \$upstream_cache_status;
        }
    }
}
CONF

cat > "$work/outrider.yaml" <<CONF
admin:
  listen: 127.0.0.1:$admin
log:
  level: error
event_loop:
  threads: 1
roles:
  cache:
    store:
      disk: {path: $work/outrider-cache, max_size: 2GiB}
  proxy:
    listen: ["127.0.0.1:$via_outrider"]
    sites:
      - pools: ["http://127.0.0.1:$origin"]
    health:
      path: /health
    limits:
      max_connections: 20000
CONF

taskset -c 0 nginx -p "$work" -c "$work/backend.conf" & pids+=($!)
taskset -c 1 nginx -p "$work" -c "$work/nginx.conf" & pids+=($!)
taskset -c 1 "$outrider" run --config "$work/outrider.yaml" 2>"$work/logs/outrider.err" & pids+=($!)
# The same outrider without the cache role, for what the cache adds to a miss.
proxy_only=18706
sed -e "s/$via_outrider/$proxy_only/" -e "s/$admin/18707/" -e '/^  cache:/,/^  proxy:/{/^  proxy:/!d}' "$work/outrider.yaml" > "$work/proxy-only.yaml"
taskset -c 1 "$outrider" run --config "$work/proxy-only.yaml" 2>"$work/logs/proxy-only.err" & pids+=($!)

for port in $origin $via_nginx $via_outrider $proxy_only; do
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/1k.bin" -o /dev/null && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:$port/1k.bin" -o /dev/null || { echo "port $port does not serve" >&2; exit 1; }
done
# Fill both caches, then check that they answer from it.
for port in $via_nginx $via_outrider; do
    for object in 1k 1m; do curl -fs "http://127.0.0.1:$port/$object.bin" -o /dev/null; done
done
sleep 1
curl -fsi "http://127.0.0.1:$via_outrider/1m.bin" -o /dev/null -D - | grep -qi "cache-status: outrider; hit" || { echo "outrider does not hit" >&2; exit 1; }
curl -fsi "http://127.0.0.1:$via_nginx/1m.bin" -o /dev/null -D - | grep -qi "cache-status: HIT" || { echo "nginx does not hit" >&2; exit 1; }

# wrk's summary: requests/s p50 p99 (ms).
measure() {
    taskset -c 0 wrk -t1 -c64 -d"${duration}s" --latency "$1" > "$work/wrk.out" 2>&1
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
    p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
    echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

# ROUNDS rounds (3 by default) of nginx then outrider per object, one after the other, so that a drift of the
# machine's speed falls on both; the medians of the rounds and their ratios are printed, then every round.
rounds="${ROUNDS:-3}"
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf "%-8s %-9s %12s %10s %10s   (median of %s rounds)\n" object cache "requests/s" "p50 ms" "p99 ms" "$rounds"
objects="1k 1m"; [ "$rounds" -gt 0 ] || objects=""
for object in $objects; do
    : > "$work/rounds-$object"
    for round in $(seq "$rounds"); do
        read -r n_rps n_p50 n_p99 < <(measure "http://127.0.0.1:$via_nginx/$object.bin")
        read -r o_rps o_p50 o_p99 < <(measure "http://127.0.0.1:$via_outrider/$object.bin")
        echo "$n_rps $n_p50 $n_p99 $o_rps $o_p50 $o_p99" >> "$work/rounds-$object"
    done
    column() { awk -v c="$1" '{ print $c }' "$work/rounds-$object" | median; }
    n_rps=$(column 1); n_p50=$(column 2); n_p99=$(column 3); o_rps=$(column 4); o_p50=$(column 5); o_p99=$(column 6)
    printf "%-8s %-9s %12s %10s %10s\n" "$object" nginx "$n_rps" "$n_p50" "$n_p99"
    printf "%-8s %-9s %12s %10s %10s\n" "$object" outrider "$o_rps" "$o_p50" "$o_p99"
    awk -v a="$o_rps" -v b="$n_rps" -v c="$o_p99" -v d="$n_p99" 'BEGIN { printf "%-8s ratio     %12.2f %10s %10.2f  (outrider/nginx)\n", "", a / b, "", c / d }'
    awk -v object="$object" '{ printf "%-8s   round %d: nginx %s/s p99 %s ms, outrider %s/s p99 %s ms (%.2f, p99 %.2f)\n", object, NR, $1, $3, $4, $6, $4 / $1, $6 / $3 }' "$work/rounds-$object"
done

# A miss of 100 MiB: time to first byte (median and deciles of $misses samples, each a new key on a new
# connection, the body read whole) and the median total, from the origin itself, through each cache, and through
# an outrider with the proxy role only (what the cache adds to the proxy), the four taken in turns. The client runs
# on MISS_CPU, by default the caches' CPU 1: then every path crosses between the two CPUs twice (to the origin and
# back), the direct one as well as those through a cache. With MISS_CPU=0, the origin's CPU, the direct path
# crosses none and every path through a cache four times.
#
# Two things keep the machine's scheduling out of the times, unless MISS_FIFO=0 and SPIN=0:
# - The client runs at a real-time priority (SCHED_FIFO), so that it reads a byte once it has come. At the normal
#   priority it waits behind the cache or proxy on its CPU, which goes on moving the body until the client's socket
#   is full: the time grew with the object (a proxied miss of 10 MiB whose first byte was on the wire 1.3 ms after
#   the connect, in tcpdump, was read by the client at 6.2 ms).
# - A SCHED_IDLE busy loop on each CPU keeps the virtual CPUs from halting between samples (each one's own CPU
#   time is what no other task wants). A halted virtual CPU takes from a quarter to several milliseconds to wake,
#   which put the origin's own median anywhere from 0.8 to 2 ms.
misses="${MISSES:-15}"
miss_cpu="${MISS_CPU:-1}"
client=(taskset -c "$miss_cpu")
setup="client on CPU $miss_cpu"
if [ "${MISS_FIFO:-1}" = 1 ]; then
    chrt -f 50 true 2>/dev/null || { echo "bench/cache.sh: a real-time client needs root or CAP_SYS_NICE (or MISS_FIFO=0)" >&2; exit 1; }
    client+=(chrt -f 50)
    setup+=", SCHED_FIFO"
fi
spinners=()
if [ "${SPIN:-1}" = 1 ]; then
    for cpu in 0 1; do taskset -c "$cpu" chrt -i 0 sh -c 'while :; do :; done' & spinners+=($!); pids+=($!); done
    setup+=", idle CPUs kept busy"
fi
echo
printf "%-12s %12s %10s %10s %10s   (%s)\n" "100 MiB miss" "ttfb p50 ms" "p10 ms" "p90 ms" "total ms" "$setup"
while read -r name t50 t10 t90 total; do
    printf "%-12s %12s %10s %10s %10s\n" "$name" "$t50" "$t10" "$t90" "$total"
    case "$name" in origin) ttfb_origin=$t50 ;; nginx) ttfb_nginx=$t50 ;; outrider) ttfb_outrider=$t50 ;; proxy-only) ttfb_proxy=$t50 ;; esac
done < <("${client[@]}" python3 bench/ttfb.py 100m.bin "$misses" 0.3 origin=$origin nginx=$via_nginx outrider=$via_outrider proxy-only=$proxy_only)
for pid in "${spinners[@]}"; do kill "$pid" 2>/dev/null || true; done
awk -v o="$ttfb_origin" -v n="$ttfb_nginx" -v c="$ttfb_outrider" -v p="$ttfb_proxy" \
    'BEGIN { printf "ttfb over the origin: nginx %+.3f ms, outrider %+.3f ms, outrider proxy only %+.3f ms\n", n - o, c - o, p - o }'
