#!/usr/bin/env python3
"""One, two and three servers on one PostgreSQL database, in the same run.

Sets up one fresh PostgreSQL database (a ward, --citizens residents with accounts, a
procedure, an agency with an API key and a grant), then for N = 1, 2, 3 starts N release
servers on it (one data directory, so one data key) and drives them, each server with its
own `sohoa bench load` (the clients split evenly, no proxy in the way), with:

- audited look-ups: `GET /api/v1/share/citizens/{cccd}?purpose=...` with the agency's key,
  each answered after its audit entry is committed;
- durable submissions: `POST /api/v1/applications`, each with its own Idempotency-Key.

Beside the rates it reads the CPU time each part used during the run (/proc: the servers,
PostgreSQL's processes, the load generators), which says where the bottleneck is on this
machine. Standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from applications import PROCEDURE, call, setup  # noqa: E402
from foundation import TOKEN, drop_postgres, fresh_postgres, start_server  # noqa: E402
import http.client  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / TICK


def postgres_pids():
    out = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def grant_key(host, port):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    s, b = call(conn, "POST", "/api/v1/agencies", {"code": "SO-XAY-DUNG", "name_vi": "Sở Xây dựng",
                                                     "name_en": "Department of Construction",
                                                     "level": "city", "unit_code": "79"})
    assert s == 201, (s, b)
    s, key = call(conn, "POST", "/api/v1/agencies/SO-XAY-DUNG/keys", {})
    assert s == 201, (s, key)
    s, b = call(conn, "POST", "/api/v1/agencies/SO-XAY-DUNG/grants", {
        "registry": "citizens", "purpose": "building-permit", "fields": ["permanent_address", "full_name"],
        "legal_basis": "Luật Xây dựng 2014, Điều 95"})
    assert s == 201, (s, b)
    return key["api_key"]


def drive(binary, servers, data_dir, name, method, paths, body, tokens, clients, seconds, expect):
    """Runs one `sohoa bench load` per server at once; their summed rate and worst p99."""
    paths_file = os.path.join(data_dir, f"{name}.paths")
    with open(paths_file, "w") as f:
        f.write("\n".join(paths) + "\n")
    tokens_file = os.path.join(data_dir, f"{name}.tokens")
    with open(tokens_file, "w") as f:
        f.write("\n".join(tokens) + "\n")
    procs = []
    for i, (_, host, port) in enumerate(servers):
        cmd = [binary, "bench", "load", "--url", f"http://{host}:{port}", "--paths-file", paths_file,
               "--method", method, "--tokens-file", tokens_file, "--expect", str(expect),
               "--clients", str(max(1, clients // len(servers))), "--seconds", str(seconds)]
        if body is not None:
            body_file = os.path.join(data_dir, f"{name}.body")
            with open(body_file, "w") as f:
                json.dump(body, f, ensure_ascii=False)
            cmd += ["--body-file", body_file, "--idempotency-prefix", f"{name}-{i}"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    server_pids = [p.pid for p, _, _ in servers]
    pg = postgres_pids()
    before = (cpu_seconds(server_pids), cpu_seconds(pg))
    t0 = time.monotonic()
    load_cpu = 0.0
    reports = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            sys.exit(f"{name}: load failed: {out}")
        reports.append(json.loads(out))
    wall = time.monotonic() - t0
    # The load generators' CPU, from the children's accounting once they have ended.
    usage = os.times()
    load_cpu = usage.children_user + usage.children_system
    after = (cpu_seconds(server_pids), cpu_seconds(pg))
    return {
        "per_second": sum(r["per_second"] for r in reports),
        "p99_ms": max(r["p99_ms"] for r in reports),
        "cpu_servers": (after[0] - before[0]) / wall,
        "cpu_postgres": (after[1] - before[1]) / wall,
        "load_cpu_total": load_cpu,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/sohoa")
    ap.add_argument("--database-url", default=os.environ.get(
        "SOHOA_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--citizens", type=int, default=64)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--max-servers", type=int, default=3)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    name = "sohoa_bench_servers"
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, SOHOA_ADMIN_TOKEN=TOKEN, SOHOA_DATA_DIR=data_dir, SOHOA_LOGIN_RATE_LIMIT="0",
                   SOHOA_DATABASE_URL=fresh_postgres(args.database_url, name))
        rows = []
        try:
            first = start_server(binary, env, data_dir)
            tokens = setup(binary, env, data_dir, first[1], first[2], args.citizens)
            key = grant_key(first[1], first[2])
            first[0].terminate()
            first[0].wait(timeout=60)
            ids = [f"079185{n:06d}" for n in range(1, args.citizens + 1)]
            lookups = [f"/api/v1/share/citizens/{c}?purpose=building-permit" for c in ids]
            body = {"procedure_code": PROCEDURE["code"], "answers": {"reason": "Thử tải", "copies": 2}}
            for n in range(1, args.max_servers + 1):
                servers = [start_server(binary, env, data_dir) for _ in range(n)]
                try:
                    look = drive(binary, servers, data_dir, f"look{n}", "GET", lookups, None, [key],
                                 args.clients, args.seconds, 200)
                    sub = drive(binary, servers, data_dir, f"sub{n}", "POST", ["/api/v1/applications"], body,
                                tokens, args.clients, args.seconds, 201)
                finally:
                    for p, _, _ in servers:
                        p.terminate()
                        p.wait(timeout=60)
                rows.append((n, look, sub))
                print(json.dumps({"servers": n, "lookups": look, "submissions": sub}), flush=True)
        finally:
            drop_postgres(args.database_url, name)
    print(f"\n{args.clients} clients in all, {args.seconds:.0f} s per measure, "
          f"CPU in cores (of 2) used by the servers / PostgreSQL during each")
    print("| servers | audited look-ups | p99 | CPU servers / PostgreSQL | submissions | p99 | CPU servers / PostgreSQL |")
    print("|---|---|---|---|---|---|---|")
    for n, look, sub in rows:
        print(f"| {n} | {look['per_second']:,.0f}/s | {look['p99_ms']:.1f} ms | "
              f"{look['cpu_servers']:.2f} / {look['cpu_postgres']:.2f} | {sub['per_second']:,.0f}/s | "
              f"{sub['p99_ms']:.1f} ms | {sub['cpu_servers']:.2f} / {sub['cpu_postgres']:.2f} |")


if __name__ == "__main__":
    main()
