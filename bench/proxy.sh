#!/usr/bin/env bash
# Side-by-side proxy benchmark on loopback: nginx (proxy_pass with upstream keepalive), HAProxy and outrider,
# one worker thread each, in front of the same nginx static-file backend, loaded by wrk.
#
#   bench/proxy.sh [DURATION_SECONDS] [ROUNDS]
#
# Each test runs ROUNDS rounds (default 3); a round measures every proxy once for DURATION_SECONDS (default 10),
# the order rotating from round to round, so a machine that slows down or speeds up during the run weighs on
# all three alike. Prints requests/s, p50 and p99 latency and the proxy's CPU time per request (user and system
# together, then each, from /proc in clock ticks) of every measurement, then each proxy's medians and the
# ratios of outrider's medians to the others', then outrider's resident memory holding 1,000 idle keep-alive
# connections. The proxy under test runs on CPU 1; the backend and wrk share CPU 0, the same for every proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
rounds="${2:-3}"

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench/proxy.sh needs $1 (apt-get install $2)" >&2; exit 1; }; }
need nginx nginx-light; need haproxy haproxy; need wrk wrk; need taskset util-linux

outrider="${OUTRIDER:-$PWD/.build-release/release/outrider}"
if [ -z "${OUTRIDER:-}" ]; then
    make -s release >/dev/null
fi

work="$(mktemp -d)"
chmod 755 "$work"   # nginx workers run as nobody and must read the files
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

backend=18600; via_nginx=18601; via_haproxy=18602; via_outrider=18603; admin=18604
. bench/backend.sh
write_backend "$work" "$backend"

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $work/logs/nginx.err warn;
pid $work/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    upstream backend { server 127.0.0.1:$backend; keepalive 128; }
    server {
        listen 127.0.0.1:$via_nginx;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_buffering on;
        }
    }
}
CONF

cat > "$work/haproxy.cfg" <<CONF
global
    nbthread 1
    maxconn 8192
defaults
    mode http
    timeout connect 10s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
    option forwardfor
    http-reuse always
frontend front
    bind 127.0.0.1:$via_haproxy
    default_backend back
backend back
    server b1 127.0.0.1:$backend
CONF

cat > "$work/outrider.yaml" <<CONF
admin:
  listen: 127.0.0.1:$admin
log:
  level: error
event_loop:
  threads: 1
roles:
  proxy:
    listen: ["127.0.0.1:$via_outrider"]
    sites:
      - pools: ["http://127.0.0.1:$backend"]
    health:
      path: /health
    limits:
      max_connections: 20000
CONF

taskset -c 0 nginx -p "$work" -c "$work/backend.conf" & pids+=($!)
taskset -c 1 nginx -p "$work" -c "$work/nginx.conf" & pids+=($!)
nginx_master=$!
taskset -c 1 haproxy -f "$work/haproxy.cfg" -q & pids+=($!)
haproxy_pid=$!
taskset -c 1 "$outrider" run --config "$work/outrider.yaml" 2>"$work/logs/outrider.err" & pids+=($!)
outrider_pid=$!

for port in $backend $via_nginx $via_haproxy $via_outrider; do
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/1k.bin" -o /dev/null && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:$port/1k.bin" -o /dev/null || { echo "port $port does not serve" >&2; exit 1; }
done

nginx_worker=$(pgrep -P "$nginx_master" | head -1)

# CPU time a process has used so far, in clock ticks: user, then system.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }

# wrk's summary in one line: requests/s p50 p99 (latencies in ms) non2xx/socket errors, and the proxy's CPU time
# per request in microseconds: user and system together, user, system.
measure() {
    local url="$1" connections="$2" pid="$3" user0 system0 user1 system1
    read -r user0 system0 < <(cpu_ticks "$pid")
    taskset -c 0 wrk -t1 -c"$connections" -d"${duration}s" --latency "$url" > "$work/wrk.out" 2>&1
    read -r user1 system1 < <(cpu_ticks "$pid")
    python3 - "$work/wrk.out" "$((user1 - user0))" "$((system1 - system0))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
user_seconds, system_seconds = int(sys.argv[2]) / int(sys.argv[4]), int(sys.argv[3]) / int(sys.argv[4])
def field(pattern):
    found = re.search(pattern, text)
    if not found:
        sys.exit(f"bench/proxy.sh: wrk printed no {pattern!r}:\n{text}")
    return found.group(1)
def ms(v):
    n, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
rps = float(field(r"Requests/sec:\s+([\d.]+)"))
p50 = ms(field(r"50%\s+([\d.]+\w+)"))
p99 = ms(field(r"99%\s+([\d.]+\w+)"))
errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if socket:
    errors += sum(int(n) for n in socket.groups())
requests = int(field(r"(\d+) requests in"))
user, system = user_seconds * 1e6 / requests, system_seconds * 1e6 / requests
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {errors} {user + system:.1f} {user:.1f} {system:.1f}")
PY
}

report() {
    local title="$1" path="$2" connections="$3"
    echo
    echo "== $title: GET $path, $connections connections, ${duration}s, $rounds rounds, wrk -t1"
    printf "%-10s %6s %12s %10s %10s %8s %12s %8s %8s\n" proxy round "requests/s" "p50 ms" "p99 ms" errors "CPU µs/req" "user" "system"
    : > "$work/results"
    local order=(nginx haproxy outrider) round name port pid
    for round in $(seq "$rounds"); do
        for name in "${order[@]}"; do
            case $name in
                nginx) port=$via_nginx pid=$nginx_worker ;;
                haproxy) port=$via_haproxy pid=$haproxy_pid ;;
                outrider) port=$via_outrider pid=$outrider_pid ;;
            esac
            read -r r a b e c u y < <(measure "http://127.0.0.1:$port$path" "$connections" "$pid")
            printf "%-10s %6s %12s %10s %10s %8s %12s %8s %8s\n" "$name" "$round" "$r" "$a" "$b" "$e" "$c" "$u" "$y"
            echo "$name $r $a $b $e $c $u $y" >> "$work/results"
        done
        order=("${order[@]:1}" "${order[0]}")
    done
    python3 - "$work/results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def median(name, column):
    return statistics.median(float(row[column]) for row in rows if row[0] == name)
rps = {name: median(name, 1) for name in ("nginx", "haproxy", "outrider")}
p50 = {name: median(name, 2) for name in rps}
p99 = {name: median(name, 3) for name in rps}
cpu = {name: median(name, 5) for name in rps}
user = {name: median(name, 6) for name in rps}
system = {name: median(name, 7) for name in rps}
for name in rps:
    print(f"{name:<10} {'median':>6} {rps[name]:12.0f} {p50[name]:10.3f} {p99[name]:10.3f} {'':>8} {cpu[name]:12.1f} {user[name]:8.1f} {system[name]:8.1f}")
faster = max(("nginx", "haproxy"), key=lambda name: rps[name])
o = rps["outrider"]
print(f"ratios of medians: outrider/nginx requests {o/rps['nginx']:.2f}x, outrider/haproxy requests {o/rps['haproxy']:.2f}x, "
      f"outrider/faster requests {o/rps[faster]:.2f}x, p99 outrider/faster {p99['outrider']/p99[faster]:.2f}x")
PY
}

report "1 KiB responses" /1k.bin 64
report "1 MiB responses" /1m.bin 16

echo
echo "== 1,000 idle keep-alive connections to outrider"
python3 - "$via_outrider" "$outrider_pid" <<'PY'
import socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
def rss():
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024
before = rss()
conns = []
for _ in range(1000):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: bench\r\n\r\n")
    conns.append(s)
for s in conns:
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 1024:
        data += s.recv(65536)
time.sleep(1)
after = rss()
print(f"resident memory: {before:.1f} MiB before, {after:.1f} MiB with 1000 idle keep-alive connections (target < 64 MiB)")
for s in conns:
    s.close()
PY
