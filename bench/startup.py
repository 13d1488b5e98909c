#!/usr/bin/env python3
"""Start-to-listening time and idle resident memory of the outrider binary.

Starts `outrider run` with the default configuration (admin moved to a free loopback port), measures the time
from exec until the admin listener accepts a TCP connection, waits for the process to go idle, and reads its
resident memory from /proc. Repeats and prints the median and the worst run.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(binary, default_config, idle_seconds):
    port = free_port()
    with open(default_config) as f:
        text = f.read()
    text = text.replace("listen: 127.0.0.1:9901", f"listen: 127.0.0.1:{port}")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
        config = f.name
    try:
        start = time.perf_counter()
        process = subprocess.Popen([binary, "run", "--config", config], stderr=subprocess.DEVNULL)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.05):
                    listening = time.perf_counter() - start
                    break
            except OSError:
                if process.poll() is not None:
                    sys.exit(f"outrider exited with {process.returncode} before listening")
                if time.perf_counter() - start > 10:
                    process.kill()
                    sys.exit("outrider did not listen within 10 s")
                time.sleep(0.0005)
        time.sleep(idle_seconds)
        with open(f"/proc/{process.pid}/status") as f:
            rss_kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        process.terminate()
        code = process.wait(timeout=20)
        if code != 0:
            sys.exit(f"outrider exited with {code} on SIGTERM")
        return listening, rss_kib
    finally:
        os.unlink(config)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", default=".build/release/outrider")
    parser.add_argument("--config", default="etc/outrider/outrider.yaml")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--idle", type=float, default=2.0, help="seconds to idle before reading memory")
    args = parser.parse_args()
    results = [one_run(args.binary, args.config, args.idle) for _ in range(args.runs)]
    times = sorted(r[0] * 1000 for r in results)
    rss = sorted(r[1] / 1024 for r in results)
    print(f"runs: {args.runs}  binary: {args.binary}")
    print(f"start to listening: median {statistics.median(times):.1f} ms, max {times[-1]:.1f} ms  (target < 200 ms)")
    print(f"idle resident memory: median {statistics.median(rss):.1f} MiB, max {rss[-1]:.1f} MiB  (target < 30 MiB)")
    print(f"ratio to target: start {statistics.median(times) / 200:.2f}x, memory {statistics.median(rss) / 30:.2f}x")


if __name__ == "__main__":
    main()
