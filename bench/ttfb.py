#!/usr/bin/env python3
"""Time to first byte of cache misses: SAMPLES requests for OBJECT through each NAME=PORT on 127.0.0.1, taken in
turns (one request to each target per turn, the order rotating), each on a new connection and with a query no
cache has seen, the whole body read before the next (so that a cache's fill completes), a pause before each.
Prints a line per target: `NAME ttfb_median_ms ttfb_p10_ms ttfb_p90_ms total_median_ms`.

    bench/ttfb.py OBJECT SAMPLES PAUSE_SECONDS NAME=PORT [NAME=PORT ...]

Taking the targets in turns puts a drift of the machine's speed on all of them alike. The time runs from the
connect to the first byte of the response, as curl's time_starttransfer does for a connection to an address.
"""
import random
import socket
import statistics
import sys
import time


def sample(port: int, path: str) -> tuple[float, float]:
    start = time.perf_counter()
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        connection.connect(("127.0.0.1", port))
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        if not connection.recv(65536):
            raise SystemExit(f"port {port} closed without answering {path}")
        first = time.perf_counter()
        while connection.recv(1 << 20):
            pass
        return (first - start) * 1000, (time.perf_counter() - start) * 1000
    finally:
        connection.close()


def main() -> None:
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    target, count, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    targets = []
    for argument in sys.argv[4:]:
        name, _, port = argument.partition("=")
        if not port.isdigit():
            raise SystemExit(f"not NAME=PORT: {argument}")
        targets.append((name, int(port)))
    firsts = {name: [] for name, _ in targets}
    totals = {name: [] for name, _ in targets}
    for turn in range(count):
        shift = turn % len(targets)
        for name, port in targets[shift:] + targets[:shift]:
            time.sleep(pause)
            first, total = sample(port, f"/{target}?miss={random.getrandbits(64)}")
            firsts[name].append(first)
            totals[name].append(total)
    for name, _ in targets:
        times = sorted(firsts[name])
        deciles = statistics.quantiles(times, n=10) if len(times) > 1 else times * 9
        print(f"{name} {statistics.median(times):.3f} {deciles[0]:.3f} {deciles[-1]:.3f} {statistics.median(totals[name]):.1f}")


if __name__ == "__main__":
    main()
