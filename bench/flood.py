#!/usr/bin/env python3
"""Floods against one Tessera (SQLite), each bounded in time, loopback only:

    python3 bench/flood.py            # release build, 20 s per flood
    python3 bench/flood.py --smoke    # debug build, 3 s per flood, 1,000 idle connections

1. 500 concurrent sign-ins (every one a fresh browser: authorize, login, consent, code, token;
   argon2id queues on the bounded CPU pool, what waits too long is answered 503).
2. 500 concurrent token requests with a wrong client secret (wrk -c500).
3. 10,000 idle connections that send half a request and stop (slowloris).

During each, a legitimate client asks for the discovery document every 50 ms; the table shows
its latency and failures, the answers the flood got (with how many 429/503 carried
Retry-After), and the server's resident memory before, after and at its peak (VmHWM). The
run fails if the legitimate client saw a failure or the peak exceeds --max-rss MiB.
"""

import argparse
import base64
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the benchmark's server set-up and flow driver)


class Watcher(threading.Thread):
    """A legitimate client: one GET of `url` every 50 ms until stopped."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.latencies, self.failures, self.stop = url, [], 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    r.read()
                    ok = r.status == 200
            except OSError:
                ok = False
            if ok:
                self.latencies.append((time.monotonic() - start) * 1000)
            else:
                self.failures += 1
            self.stop.wait(0.05)

    def summary(self):
        self.stop.set()
        self.join()
        lat = sorted(self.latencies) or [float("nan")]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (f"{len(self.latencies)} ok, {self.failures} failed; "
                f"p50 {statistics.median(lat):.1f} ms, p99 {p99:.1f} ms, max {lat[-1]:.1f} ms")


def wrk_statuses(url, seconds, connections, method="GET", auth="", body="", timeout=2):
    """wrk with bench/wrk/statuses.lua: (answers/s, {status: count, "with_retry_after": n},
    socket errors, (p50, p99) latency in ms)."""
    env = dict(os.environ, METHOD=method, BODY=body, AUTH=auth)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}s",
                          "--latency", "-s",
                          os.path.join(run.BENCH, "wrk", "statuses.lua"), url],
                         env=env, check=True, text=True, capture_output=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    def percentile(p):
        found = re.search(p + r"%\s+([\d.]+)(us|ms|s)\b", out)
        return float(found.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[found.group(2)] if found else float("nan")
    counts = json.loads(out.strip().splitlines()[-1])
    return rate, counts, sum(map(int, sock.groups())) if sock else 0, (percentile("50"), percentile("99"))


def flood_wrong_secrets(server, seconds, connections):
    auth = "Basic " + base64.b64encode(b"bench-cc:wrong-secret").decode()
    rate, counts, sockets, _ = wrk_statuses(server.base + "/token", seconds, connections, "POST",
                                            auth, "grant_type=client_credentials")
    errors = f", socket errors {sockets}" if sockets else ""
    return f"{rate:,.0f} answers/s: {json.dumps(counts)}{errors}"


def flood_idle(server, seconds, count):
    """Opens `count` connections that each send half a request head, holds them, and counts
    how many the server has closed by the end."""
    port = int(server.base.rsplit(":", 1)[1])
    held, refused = [], 0
    for _ in range(count):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            held.append(s)
        except OSError:
            refused += 1
            s.close()
    opened = len(held)
    time.sleep(seconds)
    closed = 0
    for s in held:
        s.setblocking(False)
        try:
            if s.recv(4096) is not None:
                closed += 1  # an answer (408) or the end of the stream: the server let go
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    return f"{opened} opened, {refused} refused; after {seconds} s the server had closed {closed}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--max-rss", type=float, default=150.0)
    args = parser.parse_args()
    profile = "debug" if args.smoke else "release"
    seconds = 3 if args.smoke else args.seconds
    idle = 1000 if args.smoke else 10_000
    run.BIN = os.path.join(run.TARGET, profile)
    run.setup_tools(profile, peer=False)
    server, secrets = run.tessera(None, "tessera-flood")
    rows = []
    try:
        floods = [
            ("500 concurrent sign-ins", lambda: "{rate:.0f} sign-ins/s, {errors} busy answers".format(
                **run.flows(server, secrets, "login", "bench-app", 500, seconds))),
            ("500 concurrent wrong client secrets", lambda: flood_wrong_secrets(server, seconds, 500)),
            (f"{idle:,} idle connections (half a request each)", lambda: flood_idle(server, seconds, idle)),
        ]
        for name, flood in floods:
            before = server.rss()
            watcher = Watcher(server.base + "/.well-known/openid-configuration")
            watcher.start()
            answers = flood()
            seen = watcher.summary()
            rows.append((name, answers, seen, before, server.rss(), server.peak_rss()))
            if watcher.failures:
                print(f"flood: the legitimate client failed during {name}", file=sys.stderr)
    finally:
        server.stop()
    print(f"\nfloods of {seconds} s, {profile} build, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores\n")
    print("| flood | what the flood got | the legitimate client (discovery every 50 ms) | RSS before / after / peak (MiB) |")
    print("| --- | --- | --- | ---: |")
    for name, answers, seen, before, after, peak in rows:
        print(f"| {name} | {answers} | {seen} | {before:.0f} / {after:.0f} / {peak:.0f} |")
    peak = max(r[5] for r in rows)
    failed = sum(1 for r in rows if " 0 failed" not in r[2])
    if peak > args.max_rss or failed:
        raise SystemExit(f"flood: peak RSS {peak:.0f} MiB (bound {args.max_rss:.0f}), "
                         f"{failed} flood(s) with failed legitimate requests")


if __name__ == "__main__":
    main()
