#!/usr/bin/env python3
"""A soak: mixed flows at half the measured peak for a long time, loopback only.

    python3 bench/soak.py                  # release build, 30 minutes, SQLite
    python3 bench/soak.py --minutes 5      # shorter
    python3 bench/soak.py --smoke          # debug build, 20 s in 5 s windows (what .ci/run does)

One Tessera on a fresh SQLite file. First the peak: `crash load` (bench/src/bin/crash.rs: 8
virtual users; codes by their SSO sessions, some held, redemptions, three refresh rotations,
userinfo, client_credentials, a revocation one time in four) unpaced for 20 s. Then the same
mix paced at half that many iterations per second for the whole soak, reporting every minute:
steps per second, p50/p99/max of a step (one request; the eight sign-ins at the start are
steps too), wrong answers, and Tessera's resident memory. The run fails on any wrong answer
(a 5xx included) and, outside --smoke, when memory or p99 are not flat: the last window's RSS
more than 10% + 8 MiB above the half-way window's (caches fill in the first half), or its p99
above twice the median window's.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the benchmark's build and provisioning)


def driver(server, secrets, home, seconds, rate, window):
    """Starts `crash load` paced at `rate` iterations/s (0: unpaced); returns the process."""
    config = os.path.join(home, f"soak-{rate}.json")
    with open(config, "w") as f:
        json.dump({"issuer": server.base, "redirect_uri": run.REDIRECT,
                   "app": ["bench-app", secrets["bench-app"]],
                   "service": ["bench-cc", secrets["bench-cc"]],
                   "user": [run.USER, run.PASSWORD], "concurrency": 8, "seconds": seconds,
                   "record": False, "rate": rate, "window": window}, f)
    return subprocess.Popen([os.path.join(run.BIN, "crash"), "load", config,
                             os.path.join(home, "soak-state.json")],
                            stdout=subprocess.PIPE, text=True)


def windows(proc, server):
    """Each window's line from the driver, with the server's RSS when it arrived."""
    for line in proc.stdout:
        if line.startswith("{"):
            report = json.loads(line)
            report["rss"] = server.rss()
            yield report
    proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    profile = "debug" if args.smoke else "release"
    seconds, window, peak_seconds = (20, 5, 5) if args.smoke else (args.minutes * 60, 60, 20)
    run.BIN = os.path.join(run.TARGET, profile)
    run.setup_tools(profile, peer=False)
    home = tempfile.mkdtemp(prefix="soak-tessera-")
    env, secrets = run.provision(None, home)
    server = run.Server("tessera-soak", [os.path.join(run.BIN, "tessera"), "serve"], env, "/healthz")
    try:
        # Four windows (the driver runs a little longer, so the last is reported); the first
        # holds the sign-ins.
        peak = list(windows(driver(server, secrets, home, peak_seconds + 1, 0, peak_seconds / 4), server))
        peak_rate = statistics.median(w["iterations_per_s"] for w in peak[1:])
        peak_steps = statistics.median(w["rate"] for w in peak[1:])
        rate = peak_rate / 2
        print(f"soak: peak {peak_rate:.0f} iterations/s ({peak_steps:.0f} steps/s); "
              f"soaking at {rate:.0f} iterations/s for {seconds / 60:.1f} min", file=sys.stderr)
        rss_start = server.rss()
        rows = []
        for report in windows(driver(server, secrets, home, seconds + 1, rate, window), server):
            rows.append(report)
            print(f"soak: {len(rows) * window / 60:.1f} min: {json.dumps(report)}", file=sys.stderr)
        peak_rss = server.peak_rss()
    finally:
        server.stop()
    if not rows:
        raise SystemExit("soak: the driver reported nothing")
    failures = []
    errors = sum(r["errors"] for r in rows + peak)
    if errors:
        last = next(r["last_error"] for r in reversed(peak + rows) if r["errors"])
        failures.append(f"{errors} wrong answers (the last: {last})")
    final = rows[-1]
    median_p99 = statistics.median(r["p99_ms"] for r in rows)
    if not args.smoke:
        # Caches and SQLite's page caches fill during the first half; then memory must stop
        # growing.
        half = rows[len(rows) // 2]
        if final["rss"] > half["rss"] * 1.1 + 8:
            failures.append(f"memory grew in the second half: {half['rss']:.0f} → {final['rss']:.0f} MiB")
        if final["p99_ms"] > 2 * median_p99:
            failures.append(f"p99 grew: the last window {final['p99_ms']:.1f} ms, median {median_p99:.1f} ms")
    print(f"\nsoak of {seconds / 60:.1f} min at {rate:.0f} iterations/s (half the peak of "
          f"{peak_rate:.0f}, {peak_steps:,.0f} steps/s), {profile} build, SQLite, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores\n")
    print("| minute | steps/s | p50 / p99 / max (ms) | wrong answers | RSS (MiB) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for i, r in enumerate(rows, 1):
        print(f"| {i * window / 60:.1f} | {r['rate']:,.0f} | {r['p50_ms']:.1f} / {r['p99_ms']:.1f} / "
              f"{r['max_ms']:.0f} | {r['errors']} | {r['rss']:.0f} |")
    print(f"\nRSS before the soak {rss_start:.0f} MiB, peak over the run {peak_rss:.0f} MiB; "
          f"median window p99 {median_p99:.1f} ms; {sum(r['steps'] for r in rows):,} steps, {errors} wrong")
    if failures:
        raise SystemExit("soak: " + "; ".join(failures))


if __name__ == "__main__":
    main()
