#!/usr/bin/env bash
# Slowloris against the release gateway: SOCKETS peers (default 500) each send part of a
# request's headers and then a byte a second. Meanwhile /health and a normal chat
# completion (fresh connections) are timed; then it counts the peers the header timeout
# (5 s here) closed; then, with another 50 such peers open, SIGTERM, and the time to exit
# against the shutdown grace (3 s here). Prints the numbers; timing is measured here, never
# asserted in the suite (`server_limits.rs` checks the behaviour).
#   bench/slowloris.sh [SOCKETS]        (BENCH_BIN_DIR: binaries built earlier)
set -euo pipefail
SOCKETS="${1:-500}"
source "$(dirname "$0")/lib.sh"

upstream="$(bench_mock --latency-ms 0)"
bench_gateway --header-read-timeout-secs 5 --shutdown-grace-secs 3
port="${gw##*:}"
key="$(bench_user_key slowloris)"
bench_connect "$key" fast "$upstream"

python3 - "$port" "$key" "$SOCKETS" "$gw_pid" <<'EOF'
import http.client, os, signal, socket, statistics, sys, time

port, key, n, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def slow_peers(count):
    peers = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        s.setblocking(False)
        peers.append(s)
    return peers

def trickle(peers):
    for s in peers:
        try:
            s.send(b"a")
        except OSError:
            pass

def timed(method, path, body=None):
    start = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, (time.perf_counter() - start) * 1000

def closed(s):
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True

peers = slow_peers(n)
opened = time.monotonic()
chat = '{"model":"openai/bench-model","messages":[{"role":"user","content":"hi"}]}'
health, completions = [], []
for _ in range(20):
    trickle(peers)
    status, ms = timed("GET", "/health")
    assert status == 200, status
    health.append(ms)
    status, ms = timed("POST", "/v1/chat/completions", chat)
    assert status == 200, status
    completions.append(ms)
    time.sleep(0.1)
def show(name, xs):
    xs = sorted(xs)
    print(f"{name}: p50 {statistics.median(xs):.2f} ms, max {xs[-1]:.2f} ms ({len(xs)} requests, {n} slow peers open)")
show("/health", health)
show("chat completion", completions)
# Keep trickling until the header timeout has passed for every peer.
while time.monotonic() - opened < 8:
    trickle(peers)
    time.sleep(1)
shut = sum(closed(s) for s in peers)
print(f"slow peers closed by the header timeout (5 s), though each kept sending: {shut} / {n}")
for s in peers:
    s.close()

more = slow_peers(50)
start = time.monotonic()
os.kill(pid, signal.SIGTERM)
def alive(pid):
    # The gateway is the shell's child: once it exits it is a zombie until reaped.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
while alive(pid) and time.monotonic() - start < 30:
    trickle(more)
    time.sleep(0.05)
print(f"SIGTERM with 50 slow peers open: exited in {time.monotonic() - start:.1f} s (grace 3 s, then 2 s to close what is left)")
EOF
