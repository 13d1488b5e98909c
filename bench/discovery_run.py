"""Driver of bench/discovery.sh: backends joining and dying under a steady client, outrider's live discovery
against a restart of nginx with a regenerated upstream (scrimplb's path).

usage: discovery_run.py OUTRIDER_BINARY PROFILES ROUNDS WORK_DIR

Everything listens on 127.0.0.1. A moto S3 server (auth off) holds the seed object. Per profile and round:
a load balancer (proxy + gossip, `gossip://web`, publishing into the object) and backend web-1 run; CLIENTS
threads send GETs with `Host: web.test` through the load balancer without pause, each on a keep-alive
connection (a new one after an error), and record which backend answered (its page names it) or the error.
Then web-2's HTTP server starts, then its outrider daemon (time 0): the time to the first request web-2
answers. Then web-2's daemon is killed with kill -9 while its HTTP server keeps answering (so only the
membership takes it out): the time to the last request web-2 answers. Client errors are counted throughout.

nginx: one worker, an upstream written with web-1 (and web-2 once it "joins"), reloaded the scrimplb way,
`nginx -s stop` then a new `nginx` (the `systemctl restart` equivalent). Per round: web-2 added (stop + start),
then removed (stop + start): the restart time (from `-s stop` until the new nginx accepts a connection), the time
from the stop to web-2's first request, and the client errors over each change.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

OUTRIDER, PROFILES, ROUNDS, WORK = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), sys.argv[4]
CLIENTS = int(os.environ.get("CLIENTS", "4"))
MOTO_PORT, LB_GOSSIP, LB_ADMIN, LB_PROXY, NGINX_PORT = 18800, 18801, 18802, 18803, 18804
WEB = {"web-1": (18811, 18821, 18831), "web-2": (18812, 18822, 18832)}  # http, gossip, admin


def wait_port(port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Client:
    """CLIENTS threads of GETs through PORT; each outcome as (time, backend or None, error or None)."""

    def __init__(self, port):
        self.port, self.outcomes, self.lock, self.running = port, [], threading.Lock(), True
        self.threads = [threading.Thread(target=self.loop, daemon=True) for _ in range(CLIENTS)]
        for thread in self.threads:
            thread.start()

    def loop(self):
        connection = None
        while self.running:
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("GET", "/", headers={"Host": "web.test"})
                response = connection.getresponse()
                body = response.read().decode().strip()
                outcome = (time.monotonic(), body, None) if response.status == 200 else (time.monotonic(), None, f"{response.status} {body}")
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except Exception as error:  # refused, reset, timed out: an error the client sees
                outcome = (time.monotonic(), None, repr(error))
                if connection is not None:
                    connection.close()
                connection = None
                time.sleep(0.001)
            with self.lock:
                self.outcomes.append(outcome)

    def first(self, backend, since):
        with self.lock:
            return next((at for at, who, _ in self.outcomes if who == backend and at >= since), None)

    def last(self, backend):
        with self.lock:
            return max((at for at, who, _ in self.outcomes if who == backend), default=None)

    def errors(self, since, until=float("inf")):
        with self.lock:
            return sum(1 for at, _, error in self.outcomes if error is not None and since <= at <= until)

    def count(self, since, until=float("inf")):
        with self.lock:
            return sum(1 for at, _, _ in self.outcomes if since <= at <= until)

    def stop(self):
        self.running = False
        for thread in self.threads:
            thread.join()


def eventually(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.005)
    raise SystemExit(f"{what}: not within {timeout} s")


def http_backend(name):
    root = os.path.join(WORK, "www", name)
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "index.html"), "w") as page:
        page.write(name + "\n")
    process = subprocess.Popen(["python3", "-m", "http.server", str(WEB[name][0]), "--bind", "127.0.0.1", "--directory", root],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(WEB[name][0])
    return process


def seeds(publish):
    return f"""    seeds:
      - s3: {{endpoint: "http://127.0.0.1:{MOTO_PORT}", bucket: cluster, key: seeds.json, access_key: bench, secret_key: bench, publish: {str(publish).lower()}}}"""


def outrider(name, text):
    path = os.path.join(WORK, f"{name}.yaml")
    with open(path, "w") as config:
        config.write(text)
    log = open(os.path.join(WORK, f"{name}.log"), "w")
    return subprocess.Popen([OUTRIDER, "run", "--config", path], stdout=log, stderr=log)


def load_balancer(profile):
    return outrider("lb", f"""node: {{name: lb}}
admin: {{listen: "127.0.0.1:{LB_ADMIN}"}}
roles:
  gossip:
    bind: 127.0.0.1:{LB_GOSSIP}
    profile: {profile}
{seeds(True)}
  proxy:
    listen: ["127.0.0.1:{LB_PROXY}"]
    sites: [{{name: web, pools: ["gossip://web"]}}]
    routes: [{{hosts: [web.test], site: web}}]
    health: {{path: /, interval: 1s, timeout: 1s}}
    retry: {{attempts: 2}}
""")


def backend_daemon(name, profile):
    http_port, gossip, admin = WEB[name]
    return outrider(name, f"""node: {{name: {name}}}
admin: {{listen: "127.0.0.1:{admin}"}}
roles:
  gossip:
    bind: 127.0.0.1:{gossip}
    profile: {profile}
    applications: [{{name: web, listen_port: 8080, application_port: {http_port}, protocol: http, domains: [web.test]}}]
{seeds(False)}
""")


def kill(process):
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()


def outrider_round(profile):
    lb = load_balancer(profile)
    web1_http, web1 = http_backend("web-1"), backend_daemon("web-1", profile)
    web2_http = web2 = client = None
    try:
        wait_port(LB_PROXY)
        client = Client(LB_PROXY)
        eventually(lambda: client.first("web-1", 0), what="web-1 answering through the load balancer")
        web2_http = http_backend("web-2")
        time.sleep(1)
        start = time.monotonic()
        web2 = backend_daemon("web-2", profile)
        first = eventually(lambda: client.first("web-2", start), what="web-2 answering")
        time.sleep(3)
        killed = time.monotonic()
        kill(web2)
        # Gone once 3 s pass without web-2 answering (well past a request's round trip here).
        eventually(lambda: (client.last("web-2") or 0) < time.monotonic() - 3 and time.monotonic() - killed > 3, what="web-2 gone")
        last = client.last("web-2")
        return {"join": first - start, "failed": last - killed, "errors": client.errors(start), "requests": client.count(start)}
    finally:
        if client:
            client.stop()
        for process in [lb, web1, web1_http, web2, web2_http]:
            if process is not None:
                kill(process)


def nginx_conf(servers):
    upstream = "".join(f"        server 127.0.0.1:{WEB[name][0]};\n" for name in servers)
    with open(os.path.join(WORK, "nginx.conf"), "w") as conf:
        conf.write(f"""worker_processes 1;
error_log {WORK}/nginx.err warn;
pid {WORK}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    upstream web {{
{upstream}    }}
    server {{ listen 127.0.0.1:{NGINX_PORT}; server_name web.test; location / {{ proxy_pass http://web; proxy_next_upstream error timeout; }} }}
}}
""")


def nginx(*arguments):
    subprocess.run(["nginx", "-c", os.path.join(WORK, "nginx.conf"), *arguments], check=True, stderr=subprocess.DEVNULL)


def restart_nginx():
    """scrimplb's reload: stop, then start; the time until the new nginx accepts connections."""
    began = time.monotonic()
    nginx("-s", "stop")
    eventually(lambda: not os.path.exists(os.path.join(WORK, "nginx.pid")), what="nginx stopped")
    nginx()
    wait_port(NGINX_PORT)
    return began, time.monotonic() - began


def nginx_round():
    web1_http, web2_http = http_backend("web-1"), http_backend("web-2")
    client = None
    try:
        nginx_conf(["web-1"])
        nginx()
        wait_port(NGINX_PORT)
        client = Client(NGINX_PORT)
        eventually(lambda: client.first("web-1", 0), what="web-1 answering through nginx")
        time.sleep(2)
        nginx_conf(["web-1", "web-2"])
        began, join_restart = restart_nginx()
        first = eventually(lambda: client.first("web-2", began), what="web-2 answering through nginx")
        time.sleep(2)
        join_errors = client.errors(began, time.monotonic())
        nginx_conf(["web-1"])
        began2, leave_restart = restart_nginx()
        time.sleep(2)
        leave_errors = client.errors(began2, time.monotonic())
        return {"join": first - began, "join_restart": join_restart, "join_errors": join_errors,
                "leave_restart": leave_restart, "leave_errors": leave_errors, "requests": client.count(began)}
    finally:
        if client:
            client.stop()
        subprocess.run(["nginx", "-c", os.path.join(WORK, "nginx.conf"), "-s", "stop"], stderr=subprocess.DEVNULL)
        kill(web1_http)
        kill(web2_http)


def main():
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(MOTO_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(MOTO_PORT, timeout=60)
        connection = http.client.HTTPConnection("127.0.0.1", MOTO_PORT)
        connection.request("PUT", "/cluster")
        connection.getresponse().read()
        for profile in PROFILES:
            for n in range(ROUNDS):
                result = outrider_round(profile)
                print(f"outrider {profile} round {n + 1}: start -> first request {result['join']:.2f} s, "
                      f"kill -9 -> last request {result['failed']:.2f} s, "
                      f"{result['errors']} of {result['requests']} requests failed", flush=True)
        for n in range(ROUNDS):
            result = nginx_round()
            print(f"nginx restart round {n + 1}: join: stop+start {result['join_restart']:.3f} s, stop -> first request "
                  f"{result['join']:.3f} s, {result['join_errors']} failed; leave: stop+start {result['leave_restart']:.3f} s, "
                  f"{result['leave_errors']} failed; of {result['requests']} requests", flush=True)
    finally:
        kill(moto)


main()
