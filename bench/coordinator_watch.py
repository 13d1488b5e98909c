#!/usr/bin/env python3
"""Watch wake-up on one coordinator member (SQLite) on loopback, for one or more outrider binaries side by side:
the time from a Put's start to the answer of a watch (GET /kv/k?after=REV&wait=30s) already waiting on the key,
beside the Put's own 201. A watch on the member a commit goes through is woken by the commit; the 50 ms store
poll finds commits made through other members. The ratio is each binary's median over the first's.

usage: bench/coordinator_watch.py [--rounds N] BINARY [BINARY...]
"""
import json, os, random, re, shutil, statistics, subprocess, sys, tempfile, threading, time, urllib.request


def measure(binary, rounds):
    directory = tempfile.mkdtemp(prefix="outrider-watch-")
    config = os.path.join(directory, "outrider.yaml")
    with open(config, "w") as file:
        file.write(f"node:\n  name: w0\nadmin:\n  listen: 127.0.0.1:0\nroles:\n  coordinator:\n    group: bench\n"
                   f"    store: sqlite://{directory}/coordinator.db\n    lease: 2s\n    peer:\n      listen: 127.0.0.1:0\n")
    daemon = subprocess.Popen([binary, "run", "--config", config], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        port = None
        for line in daemon.stderr:
            if "outrider started" in line:
                port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
                break
        if port is None:
            sys.exit(f"{binary} did not start")
        threading.Thread(target=lambda: [None for _ in daemon.stderr], daemon=True).start()
        base = f"http://127.0.0.1:{port}/v1/coordinator"

        def call(method, path, body=None):
            with urllib.request.urlopen(urllib.request.Request(base + path, data=body, method=method), timeout=40) as response:
                return json.loads(response.read())

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if call("GET", "/leader").get("self"):
                    break
            except Exception:
                pass
            time.sleep(0.1)
        revision = call("PUT", "/kv/k", b"v0")["revision"]
        watches, puts = [], []
        for index in range(rounds):
            answered = {}

            def watch(after=revision):
                call("GET", f"/kv/k?after={after}&wait=30s")
                answered["at"] = time.monotonic()

            thread = threading.Thread(target=watch)
            thread.start()
            time.sleep(0.2 + random.random() * 0.05)  # not in step with the 50 ms poll
            started = time.monotonic()
            revision = call("PUT", "/kv/k", f"v{index + 1}".encode())["revision"]
            puts.append((time.monotonic() - started) * 1000)
            thread.join()
            watches.append((answered["at"] - started) * 1000)
        return watches, puts
    finally:
        daemon.terminate()
        daemon.wait()
        shutil.rmtree(directory, ignore_errors=True)


def main():
    arguments = sys.argv[1:]
    rounds = 40
    if arguments[:1] == ["--rounds"]:
        rounds, arguments = int(arguments[1]), arguments[2:]
    if not arguments:
        sys.exit(__doc__)
    first = None
    for binary in arguments:
        watches, puts = measure(binary, rounds)
        watches.sort(); puts.sort()
        median = statistics.median(watches)
        first = first or median
        print(f"{binary}: {rounds} rounds: Put 201 median {statistics.median(puts):.1f} ms; watch answer after the Put's start "
              f"median {median:.1f} ms, p90 {watches[int(len(watches) * 0.9)]:.1f} ms, max {watches[-1]:.1f} ms; ratio {median / first:.2f}")


main()
