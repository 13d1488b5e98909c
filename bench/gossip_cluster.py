#!/usr/bin/env python3
"""Serf agents and outrider members in clusters of equal size, side by side; run by bench/gossip.sh inside a
network namespace it created (this script drives `nft` in that namespace to drop gossip packets).

Every cluster is homogeneous (all serf 0.9.4 or all outrider; `--mixed` adds alternating clusters to the timing
rounds). For each profile it prints:
  - timings, over --rounds fresh clusters: a joiner seen `alive` by every member (from the join command: `serf
    join` / `POST /v1/gossip/join`, the joiner already running), a kill -9'd member seen `failed` by every other
    member, a leave (`serf leave` / `POST /v1/gossip/leave`) seen `left` by every remaining member;
  - loss runs (0 %, then each of --losses) of a fresh cluster: suspicions and false failures per minute, counted
    from each member's own view and log, CPU and bytes per member per second.
Members' views are polled with `serf members -format=json` and `outrider members --format json`.
"""
import argparse
import concurrent.futures
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
GOSSIP_PORTS = (17000, 17999)   # the nftables rules count and drop only these (UDP and TCP, either end)
CONTROL_PORTS = 18000           # serf RPC and outrider admin listeners (never dropped)
TABLE = "outrider_gossip_bench"


def nft(script):
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True)


def nft_setup(hook):
    """hook `input`: a packet is lost silently after it was sent, as on a lossy link; `output`: the sender's
    sendto fails with EPERM, as when a local firewall drops it."""
    low, high = GOSSIP_PORTS
    device = "iif" if hook == "input" else "oif"
    nft(f"""table inet {TABLE} {{
  chain gossip {{ }}
  chain lo_{hook} {{
    type filter hook {hook} priority 0; policy accept;
    {device} "lo" meta l4proto {{ tcp, udp }} th dport {low}-{high} goto gossip
    {device} "lo" meta l4proto {{ tcp, udp }} th sport {low}-{high} goto gossip
  }}
}}
""")


def nft_loss(permille):
    """Resets the counters: every gossip packet sent on lo is counted once, then dropped with probability
    permille/1000 (memberlist's UDP and its TCP streams alike, as on a lossy link)."""
    rules = f"flush chain inet {TABLE} gossip\nadd rule inet {TABLE} gossip counter\n"
    if permille > 0:
        rules += f"add rule inet {TABLE} gossip numgen random mod 1000 < {permille} counter drop\n"
    nft(rules)


def nft_counters():
    """(packets, bytes) sent on the gossip ports and packets dropped since the last nft_loss."""
    out = json.loads(subprocess.run(["nft", "-j", "list", "chain", "inet", TABLE, "gossip"],
                                    capture_output=True, text=True, check=True).stdout)
    counters = []
    for item in out["nftables"]:
        rule = item.get("rule")
        if not rule:
            continue
        for expr in rule["expr"]:
            if "counter" in expr:
                counters.append((expr["counter"]["packets"], expr["counter"]["bytes"]))
    sent = counters[0] if counters else (0, 0)
    dropped = counters[1][0] if len(counters) > 1 else 0
    return sent[0], sent[1], dropped


class Member:
    def __init__(self, kind, name, gossip_port, control_port, args):
        self.kind, self.name = kind, name
        self.gossip_port, self.control_port = gossip_port, control_port
        self.args = args
        self.log = os.path.join(args.work, f"{name}.log")
        self.process = None

    @property
    def address(self):
        return f"127.0.0.1:{self.gossip_port}"

    @property
    def control(self):
        return f"127.0.0.1:{self.control_port}"

    def start(self, join=None):
        log = open(self.log, "w")
        if self.kind == "serf":
            command = ["serf", "agent", f"-node={self.name}", f"-bind={self.address}", f"-rpc-addr={self.control}",
                       f"-profile={self.args.profile}", "-log-level=info"]
            if join:
                command.append(f"-join={join}")
        else:
            config = os.path.join(self.args.work, f"{self.name}.yaml")
            join_line = f'\n    join: ["{join}"]' if join else ""
            with open(config, "w") as f:
                f.write(f"""node: {{name: {self.name}}}
admin: {{listen: "{self.control}"}}
log: {{level: info}}
roles:
  gossip:
    bind: {self.address}
    profile: {self.args.profile}{join_line}
    leave_timeout: 3s
""")
            command = [self.args.outrider, "run", "--config", config]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def view(self):
        """This member's members list as {name: status}, or None when it does not answer."""
        if self.kind == "serf":
            command = ["serf", "members", f"-rpc-addr={self.control}", "-format=json"]
        else:
            command = [self.args.outrider, "members", "--admin", self.control, "--format", "json"]
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=5)
            if out.returncode != 0:
                return None
            return {m["name"]: m["status"] for m in json.loads(out.stdout)["members"]}
        except (subprocess.TimeoutExpired, ValueError, KeyError):
            return None

    def admin_post(self, path, body):
        request = urllib.request.Request(f"http://{self.control}{path}", data=json.dumps(body).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).read()

    def join(self, address):
        if self.kind == "serf":
            subprocess.run(["serf", "join", f"-rpc-addr={self.control}", address], capture_output=True, check=True)
        else:
            self.admin_post("/v1/gossip/join", {"addresses": [address]})

    def leave(self):
        if self.kind == "serf":
            subprocess.Popen(["serf", "leave", f"-rpc-addr={self.control}"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        else:
            self.admin_post("/v1/gossip/leave", {})

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS   # utime, stime (fields 14 and 15)

    def metrics(self):
        """outrider's gossip counters: bytes sent, bytes received, suspicions."""
        text = urllib.request.urlopen(f"http://{self.control}/metrics", timeout=10).read().decode()
        values = {"sent": 0.0, "received": 0.0, "suspicions": 0.0}
        for line in text.splitlines():
            match = re.match(r'outrider_gossip_bytes_total\{direction="(\w+)"\} (\S+)', line)
            if match:
                values[match.group(1)] = float(match.group(2))
            match = re.match(r"outrider_gossip_suspicions_total(?:\{\})? (\S+)", line)
            if match:
                values["suspicions"] = float(match.group(1))
        return values

    def log_offset(self):
        return os.path.getsize(self.log)

    def log_since(self, offset):
        with open(self.log, errors="replace") as f:
            f.seek(offset)
            return f.read()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Bench:
    def __init__(self, args):
        self.args = args
        self.clusters = 0
        self.members = []
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=16)

    def cluster(self, kinds):
        """Members of the given kinds on fresh ports (not started)."""
        self.clusters += 1
        base = 10 * self.clusters
        members = []
        for i, kind in enumerate(kinds):
            name = f"{kind[0]}{self.clusters}-{i}"
            members.append(Member(kind, name, GOSSIP_PORTS[0] + base + i, CONTROL_PORTS + base + i, self.args))
        self.members.extend(members)
        return members

    def views(self, observers):
        return list(self.pool.map(lambda m: m.view(), observers))

    def wait_all(self, observers, predicate, timeout=120.0, period=0.1, start=None):
        """Seconds since start (default now) until every observer's own view satisfies predicate (each
        observer's first poll that does, timed at the poll's return), or None after timeout."""
        start = start or time.monotonic()
        seen = {}
        while time.monotonic() - start < timeout:
            tick = time.monotonic()
            pending = [m for m in observers if m.name not in seen]
            for member, view in zip(pending, self.views(pending)):
                if view is not None and predicate(view):
                    seen[member.name] = time.monotonic() - start
            if len(seen) == len(observers):
                return max(seen.values())
            time.sleep(max(0.0, period - (time.monotonic() - tick)))
        return None

    def start_cluster(self, members):
        members[0].start()
        if self.wait_all(members[:1], lambda v: True, timeout=30) is None:
            raise RuntimeError(f"{members[0].name} did not start; see {members[0].log}")
        for member in members[1:]:
            member.start(join=members[0].address)
        names = [m.name for m in members]
        if self.wait_all(members, lambda v: all(v.get(n) == "alive" for n in names), timeout=60) is None:
            raise RuntimeError(f"cluster {names} did not converge; logs in {self.args.work}")

    def stop(self, members):
        for member in members:
            member.stop()

    def timing_round(self, kinds):
        members = self.cluster(kinds)
        joiner, base = members[-1], members[:-1]
        try:
            self.start_cluster(base)
            joiner.start()
            if self.wait_all([joiner], lambda v: True, timeout=30) is None:
                raise RuntimeError(f"{joiner.name} did not start")
            t0 = time.monotonic()
            joiner.join(base[0].address)
            command = time.monotonic() - t0
            if command > 1:
                print(f"  ({joiner.name}'s join command took {command:.2f} s)")
            join = self.wait_all(base, lambda v: v.get(joiner.name) == "alive", start=t0)
            time.sleep(2)
            victim, leaver = members[1], members[2]
            others = [m for m in members if m is not victim]
            t0 = time.monotonic()
            victim.process.kill()
            kill = self.wait_all(others, lambda v: v.get(victim.name) == "failed", start=t0)
            time.sleep(1)
            remaining = [m for m in others if m is not leaver]
            t0 = time.monotonic()
            leaver.leave()
            leave = self.wait_all(remaining, lambda v: v.get(leaver.name) == "left", start=t0)
            return join, kill, leave
        finally:
            self.stop(members)

    def loss_run(self, kind, permille, seconds):
        members = self.cluster([kind] * self.args.members)
        try:
            self.start_cluster(members)
            time.sleep(2)
            offsets = [m.log_offset() for m in members]
            metrics = [m.metrics() for m in members] if kind == "outrider" else None
            cpu = [m.cpu_seconds() for m in members]
            nft_loss(permille)
            t0 = time.monotonic()
            status = {}                       # (observer, member) -> last polled status
            polled_failed, polled_suspect = set(), 0
            failed_episodes = 0
            while time.monotonic() - t0 < seconds:
                tick = time.monotonic()
                for observer, view in zip(members, self.views(members)):
                    for name, state in (view or {}).items():
                        if name == observer.name:
                            continue
                        before = status.get((observer.name, name))
                        if state != before:
                            if state == "failed":
                                failed_episodes += 1
                                polled_failed.add(name)
                            if state == "suspect":
                                polled_suspect += 1
                        status[(observer.name, name)] = state
                time.sleep(max(0.0, 0.5 - (time.monotonic() - tick)))
            elapsed = time.monotonic() - t0
            packets, sent_bytes, dropped = nft_counters()
            cpu = [m.cpu_seconds() - c for m, c in zip(members, cpu)]
            nft_loss(0)
            logs = [m.log_since(o) for m, o in zip(members, offsets)]
            result = {"kind": kind, "loss": permille / 10, "seconds": elapsed, "members": len(members),
                      "cpu_ms": [1000 * c / elapsed for c in cpu],
                      "wire_bytes": sent_bytes / len(members) / elapsed,
                      "wire_packets": packets / len(members) / elapsed, "dropped": dropped,
                      "polled_failed_episodes": failed_episodes, "polled_failed_members": len(polled_failed),
                      "polled_suspect": polled_suspect}
            text = "".join(logs)
            if kind == "serf":
                result["refutations"] = len(re.findall(r"Refuting a suspect message", text))
                result["dead_refutations"] = len(re.findall(r"Refuting a dead message", text))
                result["own_suspicions"] = len(re.findall(r"memberlist: Suspect \S+ has failed, no acks", text))
                result["declared_failed"] = len(re.findall(r"serf: EventMemberFailed: ", text))
            else:
                after = [m.metrics() for m in members]
                result["refutations"] = len(re.findall(r"gossip: refuting an accusation", text))
                result["dead_refutations"] = None
                result["own_suspicions"] = sum(a["suspicions"] - b["suspicions"] for a, b in zip(after, metrics))
                result["declared_failed"] = len(re.findall(r"gossip: member \S+ at \S+ is failed", text))
                result["metric_bytes"] = sum(a["sent"] + a["received"] - b["sent"] - b["received"]
                                             for a, b in zip(after, metrics)) / 2 / len(members) / elapsed
                sent = sum(a["sent"] - b["sent"] for a, b in zip(after, metrics))
                result["metric_sent"] = sent / len(members) / elapsed
            return result
        finally:
            self.stop(members)


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "timed out"
    text = f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"
    return text


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--outrider", required=True)
    parser.add_argument("--profiles", default="lan,local")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loss-seconds", type=float, default=60)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--losses", default="10,20")
    parser.add_argument("--mixed", action="store_true")
    parser.add_argument("--loss-hook", choices=["input", "output"], default="input")
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    if args.members < 4:
        parser.error("--members must be at least 4 (a joiner, a victim, a leaver and an observer)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    try:
        nft_setup(args.loss_hook)
        nft_loss(0)
        version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "serf"], capture_output=True, text=True).stdout
        print(f"serf {version or '(version unknown)'}, outrider {args.outrider}; {args.members} members per cluster; "
              f"loss in nftables' {args.loss_hook} hook on lo")
        for profile in args.profiles.split(","):
            args.profile = profile
            print(f"\n== profile {profile}: {uptime()}")
            kinds = {"serf": ["serf"] * args.members, "outrider": ["outrider"] * args.members}
            if args.mixed:
                kinds["mixed"] = None
            timings = {k: [] for k in kinds}
            for round_ in range(args.rounds):
                for label in kinds:
                    pattern = kinds[label]
                    if label == "mixed":   # alternate, so victim, leaver and joiner change kind between rounds
                        first, second = ("serf", "outrider") if round_ % 2 == 0 else ("outrider", "serf")
                        pattern = [first if i % 2 == 0 else second for i in range(args.members)]
                    result = bench.timing_round(pattern)
                    timings[label].append(result)
                    print(f"round {round_ + 1} {label:8} join {result[0]}  kill -9 {result[1]}  leave {result[2]}",
                          flush=True)
            if args.rounds > 0:
                print(f"\nprofile {profile}, {args.members} members, {args.rounds} rounds: median (min–max)")
                print(f"| | {' | '.join(kinds)} |")
                print("|---" * (len(kinds) + 1) + "|")
                for index, what in enumerate(["joiner seen alive by all", "kill -9 seen failed by all",
                                              "leave seen left by all"]):
                    print(f"| {what} | " + " | ".join(spread([r[index] for r in timings[k]]) for k in kinds) + " |")

            losses = ([0] if args.idle_seconds > 0 else []) + [int(x) for x in args.losses.split(",") if x]
            runs = []
            for loss in losses:
                for kind in ("serf", "outrider"):
                    seconds = args.idle_seconds if loss == 0 else args.loss_seconds
                    result = bench.loss_run(kind, loss * 10, seconds)
                    runs.append(result)
                    print(f"loss {loss}% {kind}: {json.dumps(result)}", flush=True)
            print(f"\nprofile {profile}, {args.members} members; per minute over the run, from every member's view:")
            print("| loss | members | s | refutations (suspected healthy members) /min | own suspicions /min "
                  "| failed declarations /min (logs) | members polled failed | CPU ms/s per member, mean (max) "
                  "| wire bytes/s per member (nft) | outrider_gossip_bytes_total sent/s per member |")
            print("|---" * 10 + "|")
            for r in runs:
                per_minute = 60 / r["seconds"]
                metric = f"{r['metric_sent']:.0f}" if "metric_sent" in r else "–"
                print(f"| {r['loss']:.0f} % | {r['kind']} | {r['seconds']:.0f} | {r['refutations'] * per_minute:.1f} "
                      f"| {r['own_suspicions'] * per_minute:.1f} | {r['declared_failed'] * per_minute:.1f} "
                      f"| {r['polled_failed_members']} ({r['polled_failed_episodes']} episodes) "
                      f"| {statistics.mean(r['cpu_ms']):.1f} ({max(r['cpu_ms']):.1f}) "
                      f"| {r['wire_bytes']:.0f} | {metric} |")
            print(f"after profile {profile}: {uptime()}", flush=True)
    finally:
        for member in bench.members:
            member.stop()


if __name__ == "__main__":
    main()
