#!/usr/bin/env bash
# Gossip side by side on loopback: serf agents and an outrider member at the same profile.
# For each of RUNS rounds, prints how long an observer takes to declare a kill -9'd member failed:
#   serf observing a serf agent, and outrider observing a serf agent (same victim kind, same profile);
# and how long a graceful leave takes to show as `left`, and a join to show as `alive`, in serf's view.
#
# usage: bench/gossip.sh OUTRIDER_BINARY [PROFILE] [RUNS]      (PROFILE: local | lan, default local; RUNS default 3)
# Not done here yet: the loss runs (a network namespace with an nftables `numgen random mod 1000 < 100 drop` rule
# on its lo), false-failure counts per minute, CPU and bytes per member.
set -euo pipefail

outrider=${1:?usage: bench/gossip.sh OUTRIDER_BINARY [PROFILE] [RUNS]}
profile=${2:-local}
runs=${3:-3}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

serf_agent() { # name port rpc [join]
    local extra=()
    [[ -n "${4:-}" ]] && extra=(-join="$4")
    serf agent -node="$1" -bind="127.0.0.1:$2" -rpc-addr="127.0.0.1:$3" -profile="$profile" "${extra[@]}" >"$work/$1.log" 2>&1 &
    pids+=($!)
    echo $!
}
serf_status() { # rpc name
    serf members -rpc-addr="127.0.0.1:$1" -format=json 2>/dev/null | python3 -c 'import json,sys; n=sys.argv[1]; print(next((m["status"] for m in json.load(sys.stdin)["members"] if m["name"]==n), "none"))' "$2"
}
outrider_status() { # admin name
    "$outrider" members --admin "127.0.0.1:$1" --format json 2>/dev/null | python3 -c 'import json,sys; n=sys.argv[1]; print(next((m["status"] for m in json.load(sys.stdin)["members"] if m["name"]==n), "none"))' "$2"
}
wait_until() { # command... ; expected status is the last argument
    local expected=${*: -1}
    local command=("${@:1:$#-1}")
    for _ in $(seq 600); do
        [[ "$("${command[@]}")" == "$expected" ]] && return 0
        sleep 0.05
    done
    echo "timed out waiting for ${command[*]} == $expected" >&2
    return 1
}

echo "profile=$profile runs=$runs"
for run in $(seq "$runs"); do
    # serf observing serf.
    p1=$(free_port); r1=$(free_port); p2=$(free_port); r2=$(free_port)
    serf_agent "s1-$run" "$p1" "$r1" >/dev/null
    sleep 0.5
    victim=$(serf_agent "s2-$run" "$p2" "$r2" "127.0.0.1:$p1")
    wait_until serf_status "$r1" "s2-$run" alive
    sleep 2
    t0=$(now); kill -9 "$victim"
    wait_until serf_status "$r1" "s2-$run" failed
    serf_detect=$(elapsed "$t0" "$(now)")

    # outrider observing serf, and serf observing outrider's join and leave.
    op=$(free_port)
    cat >"$work/o-$run.yaml" <<YAML
node: {name: o-$run}
admin: {listen: "127.0.0.1:0"}
log: {level: info}
roles:
  gossip:
    bind: 127.0.0.1:$op
    profile: $profile
    join: ["127.0.0.1:$p1"]
    leave_timeout: 3s
YAML
    t0=$(now)
    "$outrider" run --config "$work/o-$run.yaml" 2>"$work/o-$run.log" &
    opid=$!; pids+=("$opid")
    wait_until serf_status "$r1" "o-$run" alive
    join_time=$(elapsed "$t0" "$(now)")
    admin=""
    for _ in $(seq 100); do
        admin=$(grep -o 'admin=127.0.0.1:[0-9]*' "$work/o-$run.log" | head -1 | cut -d: -f2) && [[ -n "$admin" ]] && break
        sleep 0.05
    done
    p3=$(free_port); r3=$(free_port)
    victim=$(serf_agent "s3-$run" "$p3" "$r3" "127.0.0.1:$op")
    wait_until outrider_status "$admin" "s3-$run" alive
    sleep 2
    t0=$(now); kill -9 "$victim"
    wait_until outrider_status "$admin" "s3-$run" failed
    outrider_detect=$(elapsed "$t0" "$(now)")

    t0=$(now); kill -TERM "$opid"
    wait_until serf_status "$r1" "o-$run" left
    leave_time=$(elapsed "$t0" "$(now)")
    wait "$opid" 2>/dev/null || true

    echo "run $run: kill -9 detected: serf ${serf_detect}s, outrider ${outrider_detect}s; outrider join seen by serf ${join_time}s (includes process start); leave seen ${leave_time}s"
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    pids=()
done
