#!/usr/bin/env bash
# The coordinator beside etcd, in one run on loopback: a 3-member etcd 3.4 cluster (Debian's etcd-server) and a
# 3-member outrider group on SQLite (and on PostgreSQL with --postgres). Prints Put throughput and p50/p99 latency
# at 1 and 64 concurrent clients (through a follower), Get throughput, failover time after kill -9 of the
# leader, and the ratios outrider/etcd. Both are driven by the same client (bench/coordinator_load.py: HTTP/1.1
# keep-alive connections, one per client; etcd through its v3 JSON gateway).
#
# usage: bench/coordinator.sh [OUTRIDER_BINARY] [--seconds N] [--lease 1s] [--postgres]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
binary=${1:-$here/../.build/release/outrider}
shift || true
seconds=5 lease=1s postgres=0
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --lease) lease=$2; shift 2 ;;
        --postgres) postgres=1; shift ;;
        *) echo "unknown argument $1" >&2; exit 1 ;;
    esac
done
[ -x "$binary" ] || { echo "no outrider binary at $binary (swift build -c release)" >&2; exit 1; }
command -v etcd >/dev/null || { echo "etcd is missing: apt-get install etcd-server" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# etcd: three members, election timeout at its default (1000 ms), heartbeat 100 ms.
cluster="" ; declare -a etcd_client etcd_pid
for i in 0 1 2; do
    etcd_client[$i]=$(port); peer=$(port); eval "etcd_peer_$i=$peer"
    cluster+="${cluster:+,}e$i=http://127.0.0.1:$peer"
done
for i in 0 1 2; do
    peer_var="etcd_peer_$i"
    etcd --name "e$i" --data-dir "$work/etcd$i" --listen-client-urls "http://127.0.0.1:${etcd_client[$i]}" \
        --advertise-client-urls "http://127.0.0.1:${etcd_client[$i]}" --listen-peer-urls "http://127.0.0.1:${!peer_var}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${!peer_var}" --initial-cluster "$cluster" \
        --initial-cluster-state new >"$work/etcd$i.log" 2>&1 &
    etcd_pid[$i]=$!; pids+=("$!")
done

# outrider: three members of one group.
store="sqlite://$work/coordinator.db"
if [ "$postgres" = 1 ]; then
    pg=$work/pg; mkdir -p "$pg"; chown nobody:nogroup "$pg"
    pgport=$(port)
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- /usr/lib/postgresql/15/bin/initdb -D "$pg/data" -U postgres --auth=trust >/dev/null
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- /usr/lib/postgresql/15/bin/postgres -D "$pg/data" -p "$pgport" -k "$pg" \
        -c listen_addresses=127.0.0.1 >"$work/pg.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 100); do grep -q "ready to accept" "$work/pg.log" && break; sleep 0.1; done
    store="postgres://postgres@127.0.0.1:$pgport/postgres?sslmode=disable"
fi
declare -a admin out_pid
for i in 0 1 2; do
    admin[$i]=$(port)
    cat >"$work/m$i.yaml" <<YAML
node: {name: m$i}
admin: {listen: "127.0.0.1:${admin[$i]}"}
log: {level: warning}
roles:
  coordinator:
    group: bench
    store: $store
    lease: $lease
    peer: {listen: "127.0.0.1:0"}
YAML
    "$binary" run --config "$work/m$i.yaml" 2>"$work/m$i.log" &
    out_pid[$i]=$!; pids+=("$!")
done

python3 "$here/coordinator_load.py" --seconds "$seconds" \
    --etcd "${etcd_client[0]},${etcd_client[1]},${etcd_client[2]}" --etcd-pids "${etcd_pid[0]},${etcd_pid[1]},${etcd_pid[2]}" \
    --outrider "${admin[0]},${admin[1]},${admin[2]}" --outrider-pids "${out_pid[0]},${out_pid[1]},${out_pid[2]}" \
    --label "outrider ($( [ "$postgres" = 1 ] && echo postgres || echo sqlite ), lease $lease)"
