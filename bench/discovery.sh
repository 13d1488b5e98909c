#!/usr/bin/env bash
# Service discovery under a steady client, on loopback: how long a backend takes from its outrider process's start
# to its first proxied request, and from its kill -9 to the last request sent to it, through outrider's load
# balancer (gossip + proxy, `gossip://web`, S3 seed object on moto), for each gossip profile; then scrimplb's
# path for comparison: nginx with a regenerated upstream restarted (`nginx -s stop` + start) for a join and a
# leave, with its restart time and the requests that fail during it. bench/discovery_run.py does the work and
# says exactly what is timed.
#
# usage: bench/discovery.sh OUTRIDER_BINARY [PROFILES] [ROUNDS]
#   PROFILES: comma-separated lan,local,wan (default lan,local); ROUNDS default 3.
#   environment: CLIENTS (4) client threads, each sending GETs one after another on a keep-alive connection.
# Ports 18800-18832 on 127.0.0.1 must be free. Needs python3, moto_server (pip install 'moto[server]'), nginx.
set -euo pipefail

outrider=${1:?usage: bench/discovery.sh OUTRIDER_BINARY [PROFILES] [ROUNDS]}
profiles=${2:-lan,local}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
outrider=$(realpath "$outrider")
for tool in python3 moto_server nginx; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench/discovery.sh needs $tool" >&2; exit 1; }
done

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
python3 "$here/discovery_run.py" "$outrider" "$profiles" "$rounds" "$work"
