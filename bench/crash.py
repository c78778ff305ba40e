#!/usr/bin/env python3
"""kill -9 at random moments under a mixed load, then check what every client received.

    python3 bench/crash.py               # release build, 20 kills on SQLite, 20 on PostgreSQL
    python3 bench/crash.py --kills 5     # fewer
    python3 bench/crash.py --debug       # the debug build (what .ci/run does)

PostgreSQL is used when one answers at 127.0.0.1:5432 (a fresh database). Keys rotate every
5 s (the shortest the pre-publication window allows with a 1 s JWKS max-age), so kills also
land in the middle of rotations. Every round:

1. Tessera serves; `crash load` (bench/src/bin/crash.rs) runs 8 virtual users of mixed flows
   (sign-in with login and consent, codes by the SSO session, some held unredeemed, refresh
   rotations, userinfo, client_credentials, revocations) and remembers what each received.
   One round in four the kill lands during start-up instead (migrations, key loading).
2. kill -9 at a random moment, 0.3 to 3 s into the load.
3. With the server dead, the database is checked: SQLite's integrity_check and
   foreign_key_check; on both, no refresh family with two live heads, no token or code of a
   grant that does not exist, no grant of a client that does not exist.
4. Tessera starts again (it must), and `crash check` verifies: every JWT received verifies
   against the JWKS; the last refresh token of each family refreshes, and its successor does
   too; revoked grants stay revoked and their access tokens are inactive; held codes redeem
   once, never twice; where the kill cut a request off, either outcome the spec allows is
   accepted and nothing else.

After the rounds, `tessera keys list` must show one current key per algorithm. The run prints
a table and fails on any failed check or wrong answer seen during the load.
"""

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the benchmark's build and provisioning)

CONFIG = """jwks_max_age = 1
jwks_cache_bound = 1
key_reload_interval = 1
key_rotation_period = 5
"""

# The same on both databases: (what it finds, SQL that returns one row per violation).
CONSISTENCY = [
    ("refresh families with two live heads",
     "SELECT r.grant_id FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id "
     "WHERE r.rotated_at_ms IS NULL AND g.revoked_at IS NULL GROUP BY r.grant_id HAVING COUNT(*) > 1"),
    ("refresh tokens of a missing grant",
     "SELECT token_hash FROM refresh_tokens WHERE grant_id NOT IN (SELECT id FROM grants)"),
    ("codes of a missing grant",
     "SELECT code_hash FROM auth_codes WHERE grant_id NOT IN (SELECT id FROM grants)"),
    ("grants of a missing client",
     "SELECT id FROM grants WHERE client_id NOT IN (SELECT id FROM clients)"),
]


class Target:
    """One Tessera deployment (a database and a fixed port) that is killed and restarted."""

    def __init__(self, label, database_url):
        self.label = label
        self.home = tempfile.mkdtemp(prefix="crash-tessera-")
        self.database_url = database_url
        env, self.secrets = run.provision(database_url, self.home, CONFIG)
        self.port = run.free_port()
        self.env = dict(os.environ, **{k: v.replace("{port}", str(self.port)) for k, v in env.items()})
        self.base = f"http://127.0.0.1:{self.port}"
        self.binary = os.path.join(run.BIN, "tessera")
        self.log = open(os.path.join(self.home, "serve.log"), "ab")
        self.proc = None
        self.driver_config = os.path.join(self.home, "driver.json")
        with open(self.driver_config, "w") as f:
            json.dump({"issuer": self.base, "redirect_uri": run.REDIRECT,
                       "app": ["bench-app", self.secrets["bench-app"]],
                       "service": ["bench-cc", self.secrets["bench-cc"]],
                       "user": [run.USER, run.PASSWORD], "concurrency": 8, "seconds": 30}, f)

    def start(self):
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def ready(self, deadline):
        """Waits until the server answers or `deadline` (monotonic) passes."""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"crash: {self.label} exited by itself; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return True
            except OSError:
                time.sleep(0.005)
        return False

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def query(self, sql):
        if self.database_url is None:
            db = sqlite3.connect(os.path.join(self.home, "tessera.db"))
            try:
                return db.execute(sql).fetchall()
            finally:
                db.close()
        out = run.sh("psql", self.database_url, "-Atc", sql)
        return [line for line in out.splitlines() if line]

    def database_problems(self):
        problems = []
        if self.database_url is None:
            integrity = self.query("PRAGMA integrity_check")
            if integrity != [("ok",)]:
                problems.append(f"integrity_check: {integrity}")
            keys = self.query("PRAGMA foreign_key_check")
            if keys:
                problems.append(f"foreign_key_check: {keys}")
        for what, sql in CONSISTENCY:
            rows = self.query(sql)
            if rows:
                problems.append(f"{what}: {rows[:5]}")
        return problems

    def driver(self, mode, state):
        return subprocess.run([os.path.join(run.BIN, "crash"), mode, self.driver_config, state],
                              text=True, capture_output=True, timeout=120)


def rounds(target, kills, rng):
    """Runs `kills` rounds on `target`; returns (totals of what was checked, failures, kinds)."""
    checked, failures, kinds = {}, [], {"start-up": 0, "load": 0}
    target.start()
    if not target.ready(time.monotonic() + 60):
        raise SystemExit(f"crash: {target.label} did not start; see {target.log.name}")
    for n in range(kills):
        state = os.path.join(target.home, f"state-{n}.json")
        if n % 4 == 3:
            # Kill during start-up: a fresh process, killed a few milliseconds in.
            target.kill()
            target.start()
            time.sleep(rng.uniform(0.0, 0.03))
            target.kill()
            kinds["start-up"] += 1
            with open(state, "w") as f:
                f.write('{"families": [], "held_codes": [], "uncertain_codes": [], "jwts": [], "errors": []}')
        else:
            load = subprocess.Popen([os.path.join(run.BIN, "crash"), "load", target.driver_config,
                                     state], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(rng.uniform(0.3, 3.0))
            target.kill()
            kinds["load"] += 1
            out, _ = load.communicate(timeout=120)
            if load.returncode != 0:
                failures.append(f"round {n}: the load driver failed: {out.strip()[-500:]}")
                continue
        for problem in target.database_problems():
            failures.append(f"round {n}: {problem}")
        target.start()
        if not target.ready(time.monotonic() + 60):
            raise SystemExit(f"crash: {target.label} did not restart after kill {n}; see {target.log.name}")
        with open(state) as f:
            seen = json.load(f)
        for e in seen["errors"]:
            failures.append(f"round {n}: during the load: {e}")
        if seen.get("error_count", 0) > len(seen["errors"]):
            failures.append(f"round {n}: {seen['error_count']} wrong answers during the load in all")
        result = target.driver("check", state)
        try:
            report = json.loads(result.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            failures.append(f"round {n}: the check failed: {result.stderr.strip()[-500:]}")
            continue
        for what, count in report["checked"].items():
            checked[what] = checked.get(what, 0) + count
        failures.extend(f"round {n}: {f}" for f in report["failures"])
    keys = json.loads(subprocess.run([target.binary, "keys", "list", "--json"], env=target.env,
                                     check=True, text=True, capture_output=True).stdout)
    generations = {}
    for key in keys:
        generations.setdefault(key["alg"], []).append(key["state"])
    for alg, states in generations.items():
        if states.count("current") != 1:
            failures.append(f"key ring: {alg} has states {states}")
    checked["keys in the ring after the rounds"] = len(keys)
    target.kill()
    return checked, failures, kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--debug", action="store_true", help="the debug build")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    profile = "debug" if args.debug else "release"
    run.BIN = os.path.join(run.TARGET, profile)
    run.setup_tools(profile, peer=False)
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    targets = [Target("SQLite", None)]
    pg = run.postgres_database("tessera_crash")
    if pg:
        targets.append(Target("PostgreSQL", pg))
    rows, failures = [], []
    started = time.monotonic()
    for target in targets:
        checked, failed, kinds = rounds(target, args.kills, rng)
        rows.append((target.label, kinds, checked, failed))
        failures.extend(f"{target.label} {f}" for f in failed)
    print(f"\nkill -9 × {args.kills} per database, {profile} build, seed {seed}, "
          f"{time.monotonic() - started:.0f} s, {time.strftime('%Y-%m-%d')}\n")
    print("| database | kills (under load / in start-up) | what was checked after the restarts | failures |")
    print("| --- | --- | --- | ---: |")
    for label, kinds, checked, failed in rows:
        what = "; ".join(f"{what}: {count}" for what, count in sorted(checked.items()))
        print(f"| {label} | {kinds['load']} / {kinds['start-up']} | {what} | {len(failed)} |")
    if failures:
        print("\ncrash: failures:\n" + "\n".join(failures[:50]), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
