#!/usr/bin/env python3
"""Time to first byte of cache misses: SAMPLES requests for OBJECT on 127.0.0.1:PORT, each on a new connection
and with a query no cache has seen, the whole body read before the next (so that a cache's fill completes), a
pause between them. Prints `ttfb_median_ms ttfb_p10_ms ttfb_p90_ms total_median_ms`.

    bench/ttfb.py PORT OBJECT SAMPLES [PAUSE_SECONDS]

The time runs from the connect to the first byte of the response, as curl's time_starttransfer does for a
connection to an address.
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
    port, target, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.3
    firsts, totals = [], []
    for _ in range(count):
        time.sleep(pause)
        first, total = sample(port, f"/{target}?miss={random.getrandbits(64)}")
        firsts.append(first)
        totals.append(total)
    firsts.sort()
    deciles = statistics.quantiles(firsts, n=10) if len(firsts) > 1 else firsts * 9
    print(f"{statistics.median(firsts):.3f} {deciles[0]:.3f} {deciles[-1]:.3f} {statistics.median(totals):.1f}")


if __name__ == "__main__":
    main()
