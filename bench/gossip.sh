#!/usr/bin/env bash
# Gossip side by side: serf 0.9.4 agents (/usr/bin/serf) and outrider members, in homogeneous clusters of equal
# size, at the same memberlist profile, inside a network namespace this script creates (127.0.0.1 only).
#
# For each profile it prints (bench/gossip_cluster.py does the work):
#   - over ROUNDS fresh clusters, median and range of: a joiner seen `alive` by every member (from the join
#     command, the joiner already running); a kill -9'd member seen `failed` by every other member; a leave seen
#     `left` by every remaining member. Each member's own view is polled (`serf members -format=json`,
#     `outrider members --format json`) every 0.1 s, so a time is at most one poll late.
#   - loss runs, a fresh cluster each: 0 % (IDLE_SECONDS) then each of LOSSES (LOSS_SECONDS each). The loss is an
#     nftables rule on the namespace's lo (this kernel has no netem): every packet to or from a gossip port
#     (17000-17999, UDP and TCP) is counted, then dropped when `numgen random mod 1000 < 10 × loss %`, in the
#     input hook (LOSS_HOOK=input, the default: lost silently after it was sent, as on a lossy link) or in the
#     output hook (LOSS_HOOK=output: the sender's sendto fails with EPERM, as under a local firewall). The serf RPC
#     and outrider admin listeners (18000+) are neither dropped nor counted. Per minute: refutations (a healthy
#     member suspected, from its own log: serf's "Refuting a suspect message", outrider's "refuting an
#     accusation"), each implementation's own suspicion counter (serf: memberlist's "Suspect X has failed, no acks
#     received" log lines, one per failed probe; outrider: `outrider_gossip_suspicions_total`, one per member
#     turned suspect in a member's view), failure declarations from the logs (serf "EventMemberFailed", outrider
#     "member X ... is failed"; every member is healthy, so each is false) and the members any other member's
#     polled view showed `failed`; CPU per member (utime+stime from /proc/PID/stat over the run); bytes per member
#     per second (the nftables counter of the namespace's gossip packets, IP headers included, divided by the
#     members of the one cluster running; for outrider also `outrider_gossip_bytes_total{direction="sent"}`,
#     the framed payload without IP, UDP or TCP headers).
#
# usage: bench/gossip.sh OUTRIDER_BINARY [PROFILES] [ROUNDS]
#   PROFILES: comma-separated lan,local,wan (default lan,local); ROUNDS default 3.
#   environment: MEMBERS (5), LOSS_SECONDS (60), IDLE_SECONDS (30, 0 skips the 0 % run), LOSSES (10,20),
#   LOSS_HOOK (input), MIXED=1 adds mixed clusters
#   (serf and outrider alternating) to the timing rounds;
#   KEEP=1 keeps the members' logs and configurations.
# At the defaults one profile takes about 7 minutes (MIXED=1: 7.5).
# Needs root (ip netns), iproute2, nftables, serf, python3.
set -euo pipefail

outrider=${1:?usage: bench/gossip.sh OUTRIDER_BINARY [PROFILES] [ROUNDS]}
profiles=${2:-lan,local}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
outrider=$(realpath "$outrider")

for tool in ip nft serf python3; do
    if ! command -v "$tool" >/dev/null; then
        case $tool in
            nft) echo "bench/gossip.sh: nft not found: apt-get install nftables" >&2 ;;
            ip) echo "bench/gossip.sh: ip not found: apt-get install iproute2" >&2 ;;
            serf) echo "bench/gossip.sh: serf not found: apt-get install serf" >&2 ;;
            *) echo "bench/gossip.sh: $tool not found" >&2 ;;
        esac
        exit 1
    fi
done
[[ -x "$outrider" ]] || { echo "bench/gossip.sh: $outrider is not an executable" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "bench/gossip.sh: needs root (ip netns add)" >&2; exit 1; }

ns=outrider-gossip-$$
work=$(mktemp -d)
driver=""
cleanup() {
    if [[ -n "$driver" ]]; then
        kill -TERM "$driver" 2>/dev/null || true
        wait "$driver" 2>/dev/null || true
    fi
    if ip netns list | grep -qw "$ns"; then
        for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns delete "$ns"
    fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
if ! ip netns exec "$ns" nft list tables >/dev/null 2>&1; then
    echo "bench/gossip.sh: nft cannot run in a network namespace here (kernel without nf_tables?)" >&2
    exit 1
fi

mixed=()
[[ ${MIXED:-0} == 1 ]] && mixed=(--mixed)
# In the background and waited for, so that INT or TERM runs the trap at once (bash defers traps while a
# foreground child runs); the driver stops its members on TERM, the trap kills whatever is left in the namespace.
ip netns exec "$ns" python3 "$here/gossip_cluster.py" --outrider "$outrider" --profiles "$profiles" \
    --rounds "$rounds" --members "${MEMBERS:-5}" --loss-seconds "${LOSS_SECONDS:-60}" \
    --idle-seconds "${IDLE_SECONDS:-30}" --losses "${LOSSES-10,20}" --loss-hook "${LOSS_HOOK:-input}" \
    "${mixed[@]}" --work "$work" &
driver=$!
status=0
wait "$driver" || status=$?
driver=""
exit "$status"
