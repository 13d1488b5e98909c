"""Runs the installed daemon as the unit does and checks what it tells systemd (Type=notify).

    python3 packaging/notify-check.py ROOT

Starts ROOT's /usr/bin/outrider run --config /etc/outrider/outrider.yaml chrooted into ROOT, as the outrider
user, in a network namespace of its own (only loopback, so whatever roles the configuration enables reach
nothing outside), with NOTIFY_SOCKET naming a datagram socket this script listens on. Then checks, as systemd
would see them: READY=1 after start, RELOADING=1 with MONOTONIC_USEC and READY=1 again around SIGHUP, STOPPING=1
after SIGTERM, and a clean exit within the unit's TimeoutStopSec.

Prints PASS:/FAIL: lines, which package-test.sh counts. Exits 1 when any check failed.
"""

import os
import signal
import socket
import subprocess
import sys
import time

READY_TIMEOUT = 30.0
RELOAD_TIMEOUT = 15.0
# The unit's TimeoutStopSec.
STOP_TIMEOUT = 30.0

root = sys.argv[1]
socket_in_root = "/run/package-test-notify"
socket_path = root + socket_in_root
log_path = sys.argv[2] if len(sys.argv) > 2 else os.devnull
failures = 0


def report(ok, what, detail=""):
    global failures
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures += 1
        if detail:
            print("      " + detail, flush=True)


if os.path.exists(socket_path):
    os.unlink(socket_path)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
listener.bind(socket_path)
# The daemon sends as the unprivileged outrider user.
os.chmod(socket_path, 0o666)

command = [
    "unshare", "--net", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh",
    "chroot", "--userspec=outrider:outrider", root,
    "/usr/bin/outrider", "run", "--config", "/etc/outrider/outrider.yaml",
]
environment = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C.UTF-8",
    "NOTIFY_SOCKET": socket_in_root,
}
log = open(log_path, "wb")
daemon = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)


def wait_for(assignment, timeout):
    """The first datagram holding the line `assignment` (or starting with it, for KEY=), or None."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            return None, seen, "the daemon exited with status %d" % daemon.returncode
        listener.settimeout(min(0.5, max(0.01, deadline - time.monotonic())))
        try:
            message = listener.recv(4096).decode("utf-8", "replace")
        except socket.timeout:
            continue
        seen.append(message)
        if assignment in message.split("\n"):
            return message, seen, ""
    return None, seen, "nothing within %ds" % timeout


def describe(seen, why):
    return "%s; received: %s" % (why, seen if seen else "nothing")


try:
    message, seen, why = wait_for("READY=1", READY_TIMEOUT)
    report(message is not None, "outrider run sends READY=1 after start", describe(seen, why))

    if message is not None:
        # A moment for signal handlers that are installed asynchronously; systemd itself may send SIGHUP right
        # after READY=1, so a daemon should have its handler in place before it sends READY=1.
        time.sleep(1.0)
        before_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        daemon.send_signal(signal.SIGHUP)
        message, seen, why = wait_for("RELOADING=1", RELOAD_TIMEOUT)
        stamp = None
        if message is not None:
            for line in message.split("\n"):
                if line.startswith("MONOTONIC_USEC="):
                    stamp = int(line[len("MONOTONIC_USEC="):])
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        report(message is not None and stamp is not None and before_usec <= stamp <= now_usec,
               "SIGHUP: RELOADING=1 with MONOTONIC_USEC of the reload", describe(seen, why))
        message, seen, why = wait_for("READY=1", RELOAD_TIMEOUT)
        report(message is not None, "SIGHUP: READY=1 once the configuration is reloaded", describe(seen, why))

        daemon.send_signal(signal.SIGTERM)
        message, seen, why = wait_for("STOPPING=1", STOP_TIMEOUT)
        report(message is not None, "SIGTERM: STOPPING=1", describe(seen, why))
        try:
            status = daemon.wait(timeout=STOP_TIMEOUT)
            report(status == 0, "SIGTERM: the daemon exits with status 0 within %ds" % STOP_TIMEOUT,
                   "status %d" % status)
        except subprocess.TimeoutExpired:
            report(False, "SIGTERM: the daemon exits with status 0 within %ds" % STOP_TIMEOUT, "still running")
finally:
    if daemon.poll() is None:
        daemon.kill()
        daemon.wait()
    listener.close()
    os.unlink(socket_path)
    log.close()

sys.exit(1 if failures else 0)
