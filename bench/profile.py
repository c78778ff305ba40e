#!/usr/bin/env python3
"""Instruction counts of the token endpoint under callgrind, which are repeatable on this
noisy shared machine where timings are not.

    python3 bench/profile.py [REQUESTS] [client_credentials|refresh]   # default 300, client_credentials

Starts the release build of Tessera on a fresh SQLite database under
`valgrind --tool=callgrind`, collecting only while it answers REQUESTS sequential
POST /token requests (client_credentials with client_secret_basic and an ES256 JWT access
token, or refresh grants rotating one refresh token), then prints the instructions per
request and the functions that account for most of them.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "tessera")


FLOWS = os.path.join(os.path.dirname(BIN), "flows")


def main():
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    scenario = sys.argv[2] if len(sys.argv) > 2 else "client_credentials"
    home = tempfile.mkdtemp(prefix="bench-profile-")
    env = dict(os.environ, TESSERA_DATABASE_URL=f"sqlite://{home}/t.db?mode=rwc",
               TESSERA_MASTER_KEY="be" * 32, TESSERA_BIND="127.0.0.1:18181",
               TESSERA_ISSUER="http://127.0.0.1:18181", TESSERA_LOG="warn")
    made = json.loads(subprocess.run(
        [BIN, "client", "create", "--name", "cc", "--id", "bench-cc", "--grant",
         "client_credentials", "--scope", "api:read", "--json"],
        env=env, check=True, capture_output=True, text=True).stdout)
    auth = "Basic " + base64.b64encode(f"bench-cc:{made['client_secret']}".encode()).decode()
    app = json.loads(subprocess.run(
        [BIN, "client", "create", "--name", "app", "--id", "bench-app", "--redirect-uri",
         "http://127.0.0.1:9/cb", "--grant", "authorization_code", "--grant", "refresh_token",
         "--id-token-alg", "ES256", "--json"],
        env=env, check=True, capture_output=True, text=True).stdout)
    subprocess.run([BIN, "user", "create", "--username", "alice", "--password-stdin"],
                   env=env, input="correct horse battery", check=True, capture_output=True,
                   text=True)
    app_auth = "Basic " + base64.b64encode(f"bench-app:{app['client_secret']}".encode()).decode()
    out = os.path.join(home, "callgrind.out")
    # A first start outside valgrind makes the signing keys (RSA generation is slow there).
    first = subprocess.Popen([BIN, "serve"], env=env)
    wait(lambda: get("http://127.0.0.1:18181/healthz"))
    first.terminate()
    first.wait()
    server = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                               f"--callgrind-out-file={out}", BIN, "serve"], env=env,
                              stderr=subprocess.DEVNULL)
    wait(lambda: get("http://127.0.0.1:18181/healthz"), 120)
    if scenario == "refresh":
        signed_in = json.loads(subprocess.run(
            [FLOWS, "http://127.0.0.1:18181", "tokens", "1", "1", "bench-app",
             app["client_secret"], "http://127.0.0.1:9/cb", "alice", "correct horse battery"],
            check=True, capture_output=True, text=True).stdout)
        current = [signed_in["refresh_token"]]

        def token():
            body = f"grant_type=refresh_token&refresh_token={current[0]}".encode()
            current[0] = post("http://127.0.0.1:18181/token", app_auth, body)["refresh_token"]
    else:
        def token():
            post("http://127.0.0.1:18181/token", auth, b"grant_type=client_credentials")
    for _ in range(20):  # warm caches and pools before counting
        token()
    subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], check=True,
                   capture_output=True)
    for _ in range(requests):
        token()
    subprocess.run(["callgrind_control", "-i", "off", str(server.pid)], check=True,
                   capture_output=True)
    server.terminate()
    server.wait()
    report = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=99", out],
                            check=True, capture_output=True, text=True).stdout
    total = next(line for line in report.splitlines() if "PROGRAM TOTALS" in line)
    instructions = int(total.split()[0].replace(",", ""))
    print(f"{requests} {scenario} requests: {instructions / requests:,.0f} instructions per request")
    rows = [line for line in report.splitlines() if line.strip() and "(" in line and ":" in line]
    print("\nlargest inclusive costs (instructions per request, function):")
    shown = 0
    for line in rows:
        parts = line.split(None, 2)
        try:
            count = int(parts[0].replace(",", ""))
        except ValueError:
            continue
        name = line.split(":", 1)[-1].strip() if "???:" in line else parts[-1]
        print(f"{count / requests:>12,.0f}  {name[:110]}")
        shown += 1
        if shown >= 40:
            break


def get(url):
    with urllib.request.urlopen(url, timeout=2) as r:
        return r.status == 200


def post(url, auth, body):
    req = urllib.request.Request(url, data=body, headers={
        "Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
        return json.loads(r.read())


def wait(ready, seconds=20):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if ready():
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("profile: the server did not come up")


if __name__ == "__main__":
    main()
