"""The load side of bench/coordinator.sh: the same HTTP/1.1 client for etcd's v3 JSON gateway and outrider's
coordinator API, one keep-alive connection per client thread."""
import argparse, base64, http.client, json, os, signal, threading, time

def etcd_put(conn, key, value):
    body = json.dumps({"key": base64.b64encode(key.encode()).decode(), "value": base64.b64encode(value.encode()).decode()})
    conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
    r = conn.getresponse(); r.read(); return r.status == 200

def etcd_get(conn, key, value=None):
    conn.request("POST", "/v3/kv/range", json.dumps({"key": base64.b64encode(key.encode()).decode()}))
    r = conn.getresponse(); r.read(); return r.status == 200

def etcd_leader(ports):
    for i, port in enumerate(ports):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("POST", "/v3/maintenance/status", "{}")
            s = json.loads(c.getresponse().read())
            if s.get("leader") == s.get("header", {}).get("member_id"): return i
        except Exception: pass
    return None

def out_put(conn, key, value):
    conn.request("PUT", "/v1/coordinator/kv/" + key, value)
    r = conn.getresponse(); r.read(); return r.status == 201

def out_get(conn, key, value=None):
    conn.request("GET", "/v1/coordinator/kv/" + key)
    r = conn.getresponse(); r.read(); return r.status == 200

def out_leader(ports):
    for i, port in enumerate(ports):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/v1/coordinator/leader")
            r = c.getresponse(); s = json.loads(r.read())
            if r.status == 200 and s.get("self"): return i
        except Exception: pass
    return None

def wait_leader(find, ports, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        i = find(ports)
        if i is not None: return i
        time.sleep(0.05)
    raise SystemExit("no leader within %ds" % timeout)

def load(port, op, clients, seconds):
    latencies, stop = [], time.time() + seconds
    lock = threading.Lock()
    def worker(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, i = [], 0
        while time.time() < stop:
            t = time.perf_counter()
            try: ok = op(conn, "bench%d" % (n % 8), "v%d-%d" % (n, i))
            except Exception: conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10); ok = False
            if ok: mine.append(time.perf_counter() - t)
            i += 1
        with lock: latencies.extend(mine)
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads: t.start()
    for t in threads: t.join()
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")
    return len(latencies) / seconds, q(0.5), q(0.99)

def failover(ports, pids, find, put):
    leader = wait_leader(find, ports)
    other = ports[(leader + 1) % len(ports)]
    os.kill(pids[leader], signal.SIGKILL)
    start = time.time()
    while time.time() - start < 30:
        try:
            c = http.client.HTTPConnection("127.0.0.1", other, timeout=1)
            if put(c, "failover", "x"): return time.time() - start
        except Exception: pass
        time.sleep(0.01)
    return float("nan")

def main():
    a = argparse.ArgumentParser()
    a.add_argument("--seconds", type=float, default=5)
    a.add_argument("--etcd"); a.add_argument("--etcd-pids"); a.add_argument("--outrider"); a.add_argument("--outrider-pids"); a.add_argument("--label")
    args = a.parse_args()
    systems = [("etcd 3.4", [int(p) for p in args.etcd.split(",")], [int(p) for p in args.etcd_pids.split(",")], etcd_leader, etcd_put, etcd_get),
               (args.label, [int(p) for p in args.outrider.split(",")], [int(p) for p in args.outrider_pids.split(",")], out_leader, out_put, out_get)]
    results = {}
    for name, ports, pids, find, put, get in systems:
        leader = wait_leader(find, ports)
        follower = ports[(leader + 1) % 3]
        r = {}
        for clients in (1, 64):
            r["put%d" % clients] = load(follower, put, clients, args.seconds)
        r["get64"] = load(follower, get, 64, args.seconds)
        r["failover"] = failover(ports, pids, find, put)
        results[name] = r
        print("%-34s put c=1 %7.0f/s p50 %6.2f ms p99 %6.2f ms | put c=64 %7.0f/s p50 %6.2f ms p99 %6.2f ms | get c=64 %7.0f/s | failover %.2f s" % (
            name, *r["put1"], *r["put64"], r["get64"][0], r["failover"]), flush=True)
    (e, o) = [results[n] for n, *_ in systems]
    print("ratios outrider/etcd: put c=1 %.2fx, put c=64 %.2fx, get c=64 %.2fx, failover %.2fx" % (
        o["put1"][0] / e["put1"][0], o["put64"][0] / e["put64"][0], o["get64"][0] / e["get64"][0], o["failover"] / e["failover"]))

main()
