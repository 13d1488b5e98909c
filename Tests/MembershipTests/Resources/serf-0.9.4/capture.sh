#!/bin/sh
# Captures two serf agents on loopback (join, user event, query, leave) with tcpdump, as used for the test
# data here: ./capture.sh plain; ./capture.sh encrypted -encrypt "$(cat encrypted/key.base64)"; then
# python3 pcap2bin.py $CAPTURE_DIR/<name> splits the capture into one file per UDP packet and per TCP direction.
# usage: capture.sh NAME [serf agent extra args...]
set -u
name=$1; shift
dir=${CAPTURE_DIR:-/tmp/wirecap}/$name; rm -rf $dir; mkdir -p $dir
tcpdump -i lo -U -w $dir/cap.pcap 'port 27946 or port 27947' >$dir/tcpdump.log 2>&1 &
td=$!
sleep 1
serf agent -node=alpha -bind=127.0.0.1:27946 -rpc-addr=127.0.0.1:27373 -tag role=lb -tag dc=eu1 "$@" >$dir/a.log 2>&1 &
a=$!
serf agent -node=beta -bind=127.0.0.1:27947 -rpc-addr=127.0.0.1:27374 -tag role=backend "$@" >$dir/b.log 2>&1 &
b=$!
sleep 2
serf join -rpc-addr=127.0.0.1:27374 127.0.0.1:27946 >>$dir/b.log 2>&1
sleep 3
serf event -rpc-addr=127.0.0.1:27373 deploy v1 >>$dir/a.log 2>&1
serf query -rpc-addr=127.0.0.1:27373 -timeout=1s uptime >>$dir/a.log 2>&1
sleep 2
serf members -rpc-addr=127.0.0.1:27373 > $dir/members-before.txt
serf leave -rpc-addr=127.0.0.1:27374 >>$dir/b.log 2>&1
sleep 2
serf members -rpc-addr=127.0.0.1:27373 > $dir/members-after.txt
kill $a; wait $a $b 2>/dev/null
sleep 1
kill $td; wait $td 2>/dev/null
