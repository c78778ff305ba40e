#!/usr/bin/env python3
"""Outages under load, each bounded in time, loopback only:

    python3 bench/outage.py            # release build, PostgreSQL down for 30 s
    python3 bench/outage.py --smoke    # debug build, PostgreSQL down for 5 s (what .ci/run does)

1. PostgreSQL stopped under load. A PostgreSQL of its own (initdb in a temporary directory, a
   free port; the server at 5432 is not touched) serves one Tessera. wrk sends token requests
   that need the database (a code lookup: 400 invalid_grant while it is up) before, during
   and after `pg_ctl stop`; two legitimate clients fetch the JWKS and discovery every 50 ms
   throughout. During the outage every answer must be a 503 with Retry-After, the JWKS and
   discovery must never fail, memory must stay under --max-rss; after `pg_ctl start` Tessera
   must serve again by itself (the time it took is reported) and SSO code flows must succeed.
2. SQLite, disk full. Tessera's database lives on a tmpfs (mounted here; needs root) 256 KiB
   larger than its files (where mounting is not allowed, a file-size limit on the process); sign-ins (which write) go on until the disk is full, and must then
   get 503 with the log saying the disk is full, while the JWKS is still served; the tmpfs
   grows (remount) and sign-ins work again without a restart; the file passes integrity_check.
3. SQLite, read-only. Tessera is started as an unprivileged user on a database file it may
   only read: it refuses to start with a message that says so, and the file is unchanged.
"""

import argparse
import glob
import hashlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flood  # noqa: E402  (the legitimate client and wrk's status counts)
import run  # noqa: E402  (the benchmark's build and provisioning)

BOGUS_CODE = "grant_type=authorization_code&code=not-a-code&redirect_uri=" + run.REDIRECT


def pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit("outage: PostgreSQL's server binaries are not installed")
    return found[-1]


class Postgres:
    """A private PostgreSQL cluster, run as the postgres user on a free port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="outage-pg-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = run.free_port()
        self.as_postgres(pg_bin("initdb"), "-D", self.dir, "-A", "trust", "-U", "postgres")
        self.start()
        run.sh("psql", self.url("postgres"), "-qc", "CREATE DATABASE tessera")

    def as_postgres(self, *args):
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       capture_output=True, text=True)

    def url(self, database):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self.as_postgres(pg_bin("pg_ctl"), "-D", self.dir, "-o", options, "-l",
                         os.path.join(self.dir, "log"), "-w", "start")

    def stop(self):
        self.as_postgres(pg_bin("pg_ctl"), "-D", self.dir, "-m", "fast", "-w", "stop")


def token_with_bogus_code(server, secrets):
    """One token request that needs the database: its status and Retry-After."""
    auth = run.basic("bench-app", secrets)
    request = urllib.request.Request(server.base + "/token", data=BOGUS_CODE.encode(),
                                     headers={"Authorization": auth,
                                              "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, None
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Retry-After")


def postgres_outage(seconds, outage_seconds, max_rss):
    pg = Postgres()
    server = None
    try:
        env, secrets = run.provision(pg.url("tessera"), tempfile.mkdtemp(prefix="outage-tessera-"))
        server = run.Server("tessera-outage", [os.path.join(run.BIN, "tessera"), "serve"], env, "/healthz")
        auth = run.basic("bench-app", secrets)
        # A 10 s timeout: the first requests after the stop wait db_acquire_timeout (3 s).
        load = lambda duration: flood.wrk_statuses(server.base + "/token", duration, 32, "POST",
                                                   auth, BOGUS_CODE, timeout=10)
        watchers = [flood.Watcher(server.base + path)
                    for path in ("/.well-known/jwks.json", "/.well-known/openid-configuration")]
        for w in watchers:
            w.start()
        rows, failures = [], []
        before = load(seconds)
        rows.append(("before: PostgreSQL up", before))
        rss_before = server.rss()
        pg.stop()
        stopped = time.monotonic()
        # The first seconds apart: requests in flight when it stopped wait up to
        # db_acquire_timeout (3 s) for a connection; after that everything is refused at once.
        detect = min(5, outage_seconds // 2)
        rows.append((f"PostgreSQL stopped: the first {detect} s", load(detect)))
        rows.append((f"PostgreSQL stopped: the next {outage_seconds - detect} s",
                     load(outage_seconds - detect)))
        rss_during = server.rss()
        pg.start()
        restarted = time.monotonic()
        status = None
        while time.monotonic() - restarted < 60:
            status, _ = token_with_bogus_code(server, secrets)
            if status != 503:
                break
            time.sleep(0.1)
        recovery = time.monotonic() - restarted
        after = load(seconds)
        rows.append(("after: PostgreSQL back", after))
        sso = run.flows(server, secrets, "sso", "bench-app", 4, seconds)
        seen = [w.summary() for w in watchers]
        peak = server.peak_rss()
        for name, (_, counts, sockets, _) in rows:
            if sockets:
                failures.append(f"{name}: {sockets} socket errors")
        for name, (_, counts, _, _) in rows[1:3]:
            statuses = {k: v for k, v in counts.items() if k.isdigit()}
            # Only 503 with Retry-After (a request or two in flight as pg_ctl returned may
            # still have found its answer).
            if (set(statuses) - {"503", "400"} or statuses.get("400", 0) > 64
                    or counts["with_retry_after"] != statuses.get("503", 0)):
                failures.append(f"{name}: {counts}")
        for name, (_, counts, _, _) in (rows[0], rows[3]):
            if set(k for k in counts if k.isdigit()) != {"400"}:
                failures.append(f"{name}: {counts} (expected only 400 invalid_grant)")
        if status == 503:
            failures.append("Tessera did not recover within 60 s of PostgreSQL's return")
        if sso.get("errors") or not sso.get("flows"):
            failures.append(f"SSO flows after the outage: {sso}")
        for path, summary, w in zip(("JWKS", "discovery"), seen, watchers):
            if w.failures:
                failures.append(f"{path} failed {w.failures} times")
        if peak > max_rss:
            failures.append(f"peak RSS {peak:.0f} MiB over {max_rss:.0f}")
        print(f"\nPostgreSQL stopped for {outage_seconds} s under load (wrk -c32, a token request "
              f"that needs the database), {time.strftime('%Y-%m-%d')}\n")
        print("| phase | answers/s | answers | p50 / p99 |")
        print("| --- | ---: | --- | ---: |")
        for name, (rate, counts, _, (p50, p99)) in rows:
            print(f"| {name} | {rate:,.0f} | {json.dumps(counts)} | {p50:.1f} / {p99:.1f} ms |")
        print(f"\nback to 400s {recovery:.2f} s after PostgreSQL started (stopped at "
              f"{restarted - stopped:.0f} s); then {sso['rate']} SSO flows/s, {sso.get('errors', 0)} errors")
        print(f"JWKS every 50 ms: {seen[0]}\ndiscovery every 50 ms: {seen[1]}")
        print(f"RSS before / at the end of the outage / peak: {rss_before:.0f} / {rss_during:.0f} / {peak:.0f} MiB")
        return failures
    finally:
        if server:
            server.stop()
        if os.path.exists(os.path.join(pg.dir, "postmaster.pid")):
            pg.stop()


def sign_in(server, secrets):
    """One full sign-in (login, consent, code, token) by the flow driver: its result line."""
    return run.flows(server, secrets, "login", "bench-app", 1, 0.5)


class SmallDisk:
    """A directory that fills up: a tmpfs 256 KiB larger than the files in it when this
    machine lets us mount one (a real ENOSPC), else a file-size limit on the server process
    (RLIMIT_FSIZE with SIGXFSZ ignored: a write past it fails with EFBIG)."""

    def __init__(self, path):
        self.path = path
        files = {name: open(os.path.join(path, name), "rb").read() for name in os.listdir(path)}
        self.size_kib = sum(len(data) for data in files.values()) // 1024 + 256
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_kib}k", "tmpfs", path],
                               capture_output=True, text=True)
        self.tmpfs = mount.returncode == 0
        if self.tmpfs:
            for name, data in files.items():
                with open(os.path.join(path, name), "wb") as f:
                    f.write(data)
        else:
            print(f"outage: cannot mount a tmpfs ({mount.stderr.strip()}); limiting file sizes instead",
                  file=sys.stderr)
            self.limit = max(len(data) for data in files.values()) + 128 * 1024

    def preexec(self):
        if not self.tmpfs:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit, resource.RLIM_INFINITY))

    def grow(self, pid):
        if self.tmpfs:
            subprocess.run(["mount", "-o", "remount,size=64m", self.path], check=True)
        else:
            subprocess.run(["prlimit", f"--pid={pid}", "--fsize=unlimited"], check=True)

    def describe(self):
        return f"a {self.size_kib} KiB tmpfs" if self.tmpfs else f"a {self.limit // 1024} KiB file-size limit"

    def release(self):
        if self.tmpfs:
            subprocess.run(["umount", self.path], check=False)


def sqlite_disk_full():
    """Tessera on a disk a little larger than its files: sign-ins (which write) until the
    disk is full, then the disk grows and sign-ins must work again without a restart."""
    home = tempfile.mkdtemp(prefix="outage-sqlite-")
    disk = os.path.join(home, "disk")
    os.mkdir(disk)
    env, secrets = run.provision(f"sqlite://{disk}/tessera.db?mode=rwc", home)
    # Keys are made on the first start: do it before the disk is small.
    run.Server("tessera-keys", [os.path.join(run.BIN, "tessera"), "serve"], env, "/healthz").stop()
    small = SmallDisk(disk)
    failures, full = [], None
    try:
        server = run.Server("tessera-disk-full", [os.path.join(run.BIN, "tessera"), "serve"], env,
                            "/healthz", preexec=small.preexec)
        try:
            signed_in = 0
            for _ in range(200):
                result = sign_in(server, secrets)
                signed_in += result.get("flows", 0)
                if result.get("errors"):
                    full = result
                    break
            if not full:
                failures.append("200 sign-ins fit: the disk never filled")
                return failures, "the disk never filled"
            if "503" not in full.get("first_error", "")[:40]:
                failures.append(f"a sign-in with the disk full: {full.get('first_error', '')[:200]}")
            with urllib.request.urlopen(server.base + "/.well-known/jwks.json", timeout=5) as r:
                if r.status != 200:
                    failures.append(f"JWKS answered {r.status} with the disk full")
            small.grow(server.proc.pid)
            again = sign_in(server, secrets)
            if again.get("errors") or not again.get("flows"):
                failures.append(f"sign-in after space came back: {again}")
        finally:
            server.stop()
        with open(server.log.name, errors="replace") as f:
            said = [line.strip() for line in f if "disk is full" in line]
        if not said:
            failures.append("the log does not say the disk is full")
        db = sqlite3.connect(os.path.join(disk, "tessera.db"))
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        db.close()
        if integrity != [("ok",)]:
            failures.append(f"integrity_check: {integrity}")
    finally:
        small.release()
    status = full.get("first_error", "")[:40].split(" at ")[0]
    what = (f"{small.describe()} filled after {signed_in} sign-ins; the next sign-in "
            f"got {status}; the log: \"{said[0].split('error=')[-1][:140] if said else '—'}\"; "
            f"once the disk grew sign-ins worked again; integrity_check {integrity[0][0]}")
    return failures, what


def sqlite_read_only():
    home = tempfile.mkdtemp(prefix="outage-readonly-")
    env, _ = run.provision(None, home)
    run.Server("tessera-keys", [os.path.join(run.BIN, "tessera"), "serve"], env, "/healthz").stop()
    database = os.path.join(home, "tessera.db")
    digest = lambda: hashlib.sha256(open(database, "rb").read()).hexdigest()
    before = digest()
    os.chmod(home, 0o755)
    os.chmod(database, 0o644)  # owned by root: readable, not writable, by nobody
    serve_env = dict(os.environ, **{k: v.replace("{port}", str(run.free_port())) for k, v in env.items()})
    proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           os.path.join(run.BIN, "tessera"), "serve"], env=serve_env,
                          capture_output=True, text=True, timeout=30)
    failures = []
    message = (proc.stderr + proc.stdout).strip().splitlines()
    last = message[-1] if message else ""
    if proc.returncode == 0:
        failures.append("Tessera started on a read-only database")
    if "read" not in last.lower() or "only" not in last.lower():
        failures.append(f"the error does not say read-only: {last!r}")
    if digest() != before:
        failures.append("the read-only database file changed")
    return failures, f"exit {proc.returncode}: {last[-200:]}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--outage", type=int, default=30, help="seconds PostgreSQL is down")
    parser.add_argument("--max-rss", type=float, default=150.0)
    args = parser.parse_args()
    profile = "debug" if args.smoke else "release"
    outage, seconds = (5, 2) if args.smoke else (args.outage, 5)
    run.BIN = os.path.join(run.TARGET, profile)
    run.setup_tools(profile, peer=False)
    failures = postgres_outage(seconds, outage, args.max_rss)
    for name, check in (("SQLite disk full", sqlite_disk_full), ("SQLite read-only", sqlite_read_only)):
        failed, what = check()
        print(f"\n{name}: {what}")
        failures.extend(f"{name}: {f}" for f in failed)
    if failures:
        raise SystemExit("outage: failures:\n" + "\n".join(failures))


if __name__ == "__main__":
    main()
