#!/usr/bin/env python3
"""Tessera's benchmark suite, side by side with node-oidc-provider and a bare ceiling.

    python3 bench/run.py            # the full run: 10 s per scenario, medians of 3 rounds
    python3 bench/run.py --smoke    # 2 s, one round, debug build: checks the suite still works (CI)

It builds Tessera and the helpers (release), installs what it needs (wrk from Debian, the
peer from npm with its lock file), starts Tessera on SQLite and, when one answers at
127.0.0.1:5432, on PostgreSQL, starts node-oidc-provider with the same clients and
algorithms and the ceiling server, then drives every scenario with wrk (-t2 -c64) or the flow
driver, rounds interleaved, and prints one Markdown table with the ratios. A scenario with any
non-2xx answer or socket error fails the run.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release")
SECRET = "bench-secret-0123456789abcdef"
REDIRECT = "http://127.0.0.1:9/cb"
USER, PASSWORD = "alice", "correct horse battery staple"
MASTER_KEY = "be" * 32


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, deadline=20.0):
    """Milliseconds until `url` first answers 200."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return (time.monotonic() - start) * 1000
        except OSError:
            time.sleep(0.002)
    raise SystemExit(f"bench: {url} did not come up")


def rss_mib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def setup_tools(profile, peer=True):
    if not shutil.which("wrk"):
        print("bench: installing wrk from Debian's packages", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    print(f"bench: building Tessera and the helpers ({profile})", file=sys.stderr)
    release = ["--release"] if profile == "release" else []
    subprocess.run(
        ["cargo", "build", *release, "--locked", "-p", "tessera", "-p", "tessera-bench"],
        cwd=ROOT, check=True,
    )
    node = os.path.join(BENCH, "node")
    if peer and not os.path.isdir(os.path.join(node, "node_modules", "oidc-provider")):
        print("bench: installing node-oidc-provider (npm ci)", file=sys.stderr)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=node, check=True)


class Server:
    def __init__(self, name, argv, env, ready_path, cwd=None, preexec=None):
        self.name = name
        self.port = free_port()
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v.replace("{port}", str(self.port)) for k, v in env.items()}
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, env=dict(os.environ, **env), cwd=cwd,
                                     stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=preexec)
        self.startup_ms = wait_ready(self.base + ready_path)
        time.sleep(0.5)
        self.idle_rss = rss_mib(self.proc.pid)

    def peak_rss(self):
        return rss_mib(self.proc.pid, "VmHWM")

    def rss(self):
        return rss_mib(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def provision(database_url, home, config=""):
    """A database with the benchmark's clients and one user, made through the CLI; returns the
    environment `tessera serve` needs ({port} stands for its port) and the clients' secrets.
    `config` is the text of a tessera.toml, for settings that have no environment variable."""
    env = {
        "TESSERA_DATABASE_URL": database_url or f"sqlite://{home}/tessera.db?mode=rwc",
        "TESSERA_MASTER_KEY": MASTER_KEY,
        "TESSERA_KEYS_DIR": os.path.join(home, "keys"),
        "TESSERA_LOG": os.environ.get("TESSERA_LOG", "info"),
        "TESSERA_CONFIG": os.path.join(home, "tessera.toml"),
    }
    with open(env["TESSERA_CONFIG"], "w") as f:
        f.write(config)
    binary = os.path.join(BIN, "tessera")
    cli = lambda *args, stdin=None: json.loads(subprocess.run(
        [binary, *args, "--json"], env=dict(os.environ, **env), input=stdin,
        check=True, text=True, capture_output=True).stdout)
    secrets = {}
    for client, alg in [("bench-cc", "ES256"), ("bench-cc-rs256", "RS256")]:
        made = cli("client", "create", "--name", client, "--id", client, "--grant",
                   "client_credentials", "--scope", "api:read", "--access-token-alg", alg)
        secrets[client] = made["client_secret"]
    for client, alg in [("bench-app", "RS256"), ("bench-app-es256", "ES256")]:
        made = cli("client", "create", "--name", client, "--id", client, "--redirect-uri",
                   REDIRECT, "--grant", "authorization_code", "--grant", "refresh_token",
                   "--id-token-alg", alg)
        secrets[client] = made["client_secret"]
    cli("user", "create", "--username", USER, "--password-stdin", stdin=PASSWORD)
    env["TESSERA_BIND"] = "127.0.0.1:{port}"
    env["TESSERA_ISSUER"] = "http://127.0.0.1:{port}"
    return env, secrets


def postgres_database(prefix):
    """A fresh database on the PostgreSQL at 127.0.0.1:5432, or None when none answers."""
    pg = os.environ.get("TESSERA_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode != 0:
        return None
    name = f"{prefix}_{os.getpid()}"
    sh("psql", f"{pg}/postgres", "-qc", f"CREATE DATABASE {name}")
    return f"{pg}/{name}"


def tessera(database_url, label):
    """A fresh Tessera with the benchmark's clients and user; returns (server, secrets)."""
    env, secrets = provision(database_url, tempfile.mkdtemp(prefix="bench-tessera-"))
    binary = os.path.join(BIN, "tessera")
    # The first start generates the signing keys (RSA takes a while); start-up is measured
    # on the second, as every later start of a deployment is.
    Server(label, [binary, "serve"], env, "/healthz").stop()
    server = Server(label, [binary, "serve"], env, "/healthz")
    return server, secrets


def peer():
    node = os.path.join(BENCH, "node")
    env = {"BENCH_SECRET": SECRET, "BENCH_REDIRECT": REDIRECT, "BENCH_USER": USER}
    server = Server("node-oidc-provider", ["node", "server.mjs", "{port}"], env,
                    "/.well-known/openid-configuration", cwd=node)
    return server, {c: SECRET for c in ("bench-cc", "bench-cc-rs256", "bench-app", "bench-app-es256")}


def ceiling():
    return Server("ceiling", [os.path.join(BIN, "ceiling"), "{port}"], {}, "/static")


def flows(server, secrets, scenario, client, concurrency, seconds):
    out = sh(os.path.join(BIN, "flows"), server.base, scenario, str(concurrency),
             str(seconds), client, secrets[client], REDIRECT, USER, PASSWORD)
    return json.loads(out.strip().splitlines()[-1])


def wrk(url, seconds, method="GET", auth="", body=""):
    env = dict(os.environ, METHOD=method, AUTH=auth, BODY=body)
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s",
                          os.path.join(BENCH, "wrk", "request.lua"), url],
                         env=env, check=True, text=True, capture_output=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {"rate": rate, "errors": errors,
            "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else None}


def basic(client, secrets):
    import base64
    return "Basic " + base64.b64encode(f"{client}:{secrets[client]}".encode()).decode()


def scenarios(server, secrets, kind, seconds):
    """The single-request scenarios: (name, function returning a result)."""
    meta = json.load(urllib.request.urlopen(server.base + "/.well-known/openid-configuration"))
    tokens = flows(server, secrets, "tokens", "bench-app", 1, 1)
    revoked = flows(server, secrets, "tokens", "bench-app", 1, 1)
    app = basic("bench-app", secrets)
    cc = basic("bench-cc", secrets)
    cc_rs256 = basic("bench-cc-rs256", secrets)
    at, other = tokens["access_token"], revoked["access_token"]
    list_ = [
        ("GET discovery", lambda: wrk(server.base + "/.well-known/openid-configuration", seconds)),
        ("GET jwks", lambda: wrk(meta["jwks_uri"], seconds)),
        ("POST /token client_credentials (ES256 JWT)", lambda: wrk(
            meta["token_endpoint"], seconds, "POST", cc,
            "grant_type=client_credentials&scope=api%3Aread")),
        ("POST /token client_credentials (RS256 JWT)", lambda: wrk(
            meta["token_endpoint"], seconds, "POST", cc_rs256,
            "grant_type=client_credentials&scope=api%3Aread")),
        ("POST /introspect (valid token)", lambda: wrk(
            meta["introspection_endpoint"], seconds, "POST", app, f"token={at}")),
        ("GET /userinfo", lambda: wrk(meta["userinfo_endpoint"], seconds, "GET", f"Bearer {at}")),
        ("POST /revoke", lambda: wrk(
            meta["revocation_endpoint"], seconds, "POST", app, f"token={other}")),
    ]
    return list_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 s per scenario, one round")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    global BIN
    seconds, rounds = (2, 1) if args.smoke else (args.seconds, args.rounds)
    profile = "debug" if args.smoke else "release"
    BIN = os.path.join(TARGET, profile)
    setup_tools(profile)
    targets = [("Tessera (SQLite)",) + tessera(None, "tessera-sqlite")]
    pg = postgres_database("tessera_bench")
    if pg:
        targets.append(("Tessera (PostgreSQL)",) + tessera(pg, "tessera-pg"))
    targets.append(("node-oidc-provider",) + peer())
    top = ceiling()
    results = {}  # (scenario, target) -> [results]
    failures = []

    def record(scenario, target, result):
        results.setdefault((scenario, target), []).append(result)
        if result.get("errors"):
            failures.append(f"{target} / {scenario}: {result}")

    try:
        for _ in range(rounds):
            # Fresh tokens each round: an access token lives five minutes.
            plans = {label: scenarios(server, secrets, label, seconds)
                     for label, server, secrets in targets}
            for i, (scenario, _) in enumerate(next(iter(plans.values()))):
                for label, _, _ in targets:
                    record(scenario, label, plans[label][i][1]())
                ceil = {"GET discovery": "/static", "GET jwks": "/static",
                        "POST /token client_credentials (ES256 JWT)": "/sign/es256",
                        "POST /token client_credentials (RS256 JWT)": "/sign/rs256"}.get(scenario)
                if ceil:
                    method = "POST" if ceil.startswith("/sign") else "GET"
                    record(scenario, "ceiling", wrk(top.base + ceil, seconds, method))
            for label, server, secrets in targets:
                for scenario, client, concurrency, name in [
                    ("sso", "bench-app", 32, "SSO code flows (RS256 id_token verified)"),
                    ("refresh", "bench-app-es256", 32, "refresh grants with rotation"),
                    ("login", "bench-app", 8, "full flows with login + consent (c=8)"),
                ]:
                    record(name, label, flows(server, secrets, scenario, client, concurrency, seconds))
        # A flood of sign-ins: argon2 queues on a bounded pool, so memory stays flat; what waits
        # too long is answered 503 with Retry-After (counted here, not a failure).
        for label, server, secrets in targets:
            before = server.rss()
            flood = flows(server, secrets, "login", "bench-app", 64, seconds)
            results.setdefault(("login flood (c=64): logins/s / busy answers", label), []).append(
                {"rate": flood["rate"], "extra": float(flood.get("errors", 0))})
            results.setdefault(("RSS before / after the flood (MiB)", label), []).append(
                {"rate": before, "extra": server.rss()})
        for label, server, _ in targets:
            record("start-up to first 200 (ms) / idle RSS (MiB)", label,
                   {"rate": server.startup_ms, "extra": server.idle_rss})
            record("peak RSS / RSS after (MiB)", label, {"rate": server.peak_rss(), "extra": server.rss()})
    finally:
        for _, server, _ in targets:
            server.stop()
        top.stop()

    labels = [t[0] for t in targets]
    print(f"\n{rounds} round(s) of {seconds} s, wrk -t2 -c64, medians; {time.strftime('%Y-%m-%d')}, "
          f"{os.cpu_count()} cores\n")
    print("| scenario | " + " | ".join(labels)
          + " | ceiling | Tessera (SQLite) ÷ peer | Tessera (SQLite) ÷ ceiling |")
    print("| --- |" + " ---: |" * (len(labels) + 3))
    scenario_names = []
    for (scenario, _), _ in results.items():
        if scenario not in scenario_names:
            scenario_names.append(scenario)
    for scenario in scenario_names:
        def cell(label):
            values = results.get((scenario, label))
            if not values:
                return "—", None
            rate = statistics.median(v["rate"] for v in values)
            extra = [v["extra"] for v in values if "extra" in v]
            text = f"{rate:,.0f}" if rate >= 10 else f"{rate:.1f}"
            if extra:
                text += f" / {statistics.median(extra):.1f}"
            return text, rate
        cells = [cell(label) for label in labels]
        top_cell, top = cell("ceiling")
        mine, theirs = cells[0][1], cells[-1][1]
        ratio = f"{mine / theirs:.2f}×" if mine and theirs else "—"
        share = f"{100 * mine / top:.0f}%" if mine and top else "—"
        print(f"| {scenario} | " + " | ".join(c[0] for c in cells)
              + f" | {top_cell} | {ratio} | {share} |")
    if failures:
        print("\nbench: scenarios with errors:\n" + "\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
