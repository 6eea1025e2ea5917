#!/usr/bin/env python3
"""Foundation benchmark: audited writes, reads, and audit-chain verification.

Starts the release binary on a fresh database (SQLite by default, PostgreSQL with
--database-url), then measures over HTTP on loopback:
  1. audited writes: POST /api/v1/agencies (each one a transaction with an audit entry);
  2. reads: GET /api/v1/units with a diacritic-folding search;
  3. `sohoa audit verify` over the resulting chain: entries/s and peak memory.
Standard library only. Every loop is bounded in count and time.
"""
import argparse
import contextlib
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "bench-admin-token-0123456789"


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def start_server(binary, env, data_dir):
    log = open(os.environ.get("SOHOA_BENCH_LOG") or os.path.join(data_dir, "server.log"), "w+")
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--log", "warn,sohoa=info",
         "--rate-limit", "0"],  # a benchmark is one client on purpose
        env=env, stderr=log, stdout=subprocess.DEVNULL, cwd=data_dir)
    deadline = time.time() + 60
    while time.time() < deadline:
        log.seek(0)
        m = re.search(r'"addr":"([^"]+)"', log.read())
        if m:
            host, port = m.group(1).rsplit(":", 1)
            return proc, host, int(port)
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    sys.exit("server did not start; see " + log.name)


def fresh_postgres(admin_url, name):
    """A new, empty database `name` beside the one `admin_url` names; returns its URL."""
    subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                    "-c", f"CREATE DATABASE {name}"], check=True)
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres(admin_url, name):
    subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)


def bench_load(binary, host, port, data_dir, name, paths, tokens, clients, seconds):
    """Runs `sohoa bench load` over `paths` (cycled) with bearer `tokens` (may be empty) and
    returns its JSON report."""
    paths_file = os.path.join(data_dir, f"{name}.paths")
    with open(paths_file, "w") as f:
        f.write("\n".join(paths) + "\n")
    cmd = [binary, "bench", "load", "--url", f"http://{host}:{port}", "--paths-file", paths_file,
           "--clients", str(clients), "--seconds", str(seconds)]
    if tokens:
        tokens_file = os.path.join(data_dir, f"{name}.tokens")
        with open(tokens_file, "w") as f:
            f.write("\n".join(tokens) + "\n")
        cmd += ["--tokens-file", tokens_file]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


@contextlib.contextmanager
def fresh_server(binary, database_url, pg_name):
    """The release server on a fresh database in a temporary data directory: SQLite, or with
    `database_url` a PostgreSQL database `pg_name` created beside it and dropped afterwards.
    Yields (env, data_dir, host, port); `env` is what the CLI needs to reach the same data."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, SOHOA_ADMIN_TOKEN=TOKEN, SOHOA_DATA_DIR=data_dir,
                   SOHOA_LOGIN_RATE_LIMIT="0")
        if database_url:
            env["SOHOA_DATABASE_URL"] = fresh_postgres(database_url, pg_name)
        proc, host, port = start_server(binary, env, data_dir)
        try:
            yield env, data_dir, host, port
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            if database_url:
                drop_postgres(database_url, pg_name)


def run_threads(n_threads, work):
    results = [[] for _ in range(n_threads)]
    threads = [threading.Thread(target=work, args=(i, results[i])) for i in range(n_threads)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat = [x for r in results for x in r]
    return elapsed, lat


def writes(host, port, total, n_threads):
    per = total // n_threads

    def work(i, out):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for j in range(per):
            body = json.dumps({"code": f"BENCH-{i}-{j}", "name_vi": f"Cơ quan thử {i}-{j}",
                               "name_en": f"Bench agency {i}-{j}", "level": "city", "unit_code": "79"})
            t = time.perf_counter()
            conn.request("POST", "/api/v1/agencies", body,
                         {"Content-Type": "application/json", "Authorization": "Bearer " + TOKEN})
            res = conn.getresponse()
            res.read()
            if res.status != 201:
                raise SystemExit(f"write failed: {res.status}")
            out.append(time.perf_counter() - t)

    elapsed, lat = run_threads(n_threads, work)
    return len(lat) / elapsed, lat


def reads(host, port, seconds, n_threads):
    stop = time.time() + seconds
    paths = ["/api/v1/units?q=phuong&per_page=50", "/api/v1/units?q=ben%20thanh",
             "/api/v1/units/25747?as_of=2025-06-30", "/api/v1/units?kind=ward&page=2"]

    def work(i, out):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        k = i
        while time.time() < stop and len(out) < 1_000_000:
            t = time.perf_counter()
            conn.request("GET", paths[k % len(paths)])
            res = conn.getresponse()
            res.read()
            if res.status != 200:
                raise SystemExit(f"read failed: {res.status}")
            out.append(time.perf_counter() - t)
            k += 1

    elapsed, lat = run_threads(n_threads, work)
    return len(lat) / elapsed, lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/sohoa")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--writes", type=int, default=4000)
    ap.add_argument("--read-seconds", type=float, default=10)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, SOHOA_ADMIN_TOKEN=TOKEN, SOHOA_DATA_DIR=data_dir)
        if args.database_url:
            env["SOHOA_DATABASE_URL"] = args.database_url
        proc, host, port = start_server(binary, env, data_dir)
        try:
            w_rate, w_lat = writes(host, port, args.writes, args.threads)
            r_rate, r_lat = reads(host, port, args.read_seconds, args.threads)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        t0 = time.perf_counter()
        v = subprocess.Popen([binary, "audit", "verify"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(v.pid, 0)
        out = v.stdout.read().decode()
        v_elapsed = time.perf_counter() - t0
        entries = int(re.search(r"(\d+) entries", out).group(1)) if "intact" in out else 0
        backend = "postgres" if args.database_url else "sqlite"
        ms = lambda xs, p: percentile(xs, p) * 1e3
        print(f"backend: {backend}, threads: {args.threads}")
        print(f"audited writes: {len(w_lat)} in total, {w_rate:.0f}/s, p50 {ms(w_lat, .5):.1f} ms, p99 {ms(w_lat, .99):.1f} ms")
        print(f"reads: {len(r_lat)} in {args.read_seconds:.0f} s, {r_rate:.0f}/s, p50 {ms(r_lat, .5):.1f} ms, p99 {ms(r_lat, .99):.1f} ms")
        print(f"audit verify: {entries} entries in {v_elapsed:.2f} s ({entries / v_elapsed:.0f}/s), "
              f"peak RSS {usage.ru_maxrss / 1024:.1f} MiB, exit {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
