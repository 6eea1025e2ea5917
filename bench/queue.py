#!/usr/bin/env python3
"""Officers' queue benchmark: one agency's queue over --count applications (1 million by
default), read a page at a time.

Starts the release binary on a fresh database (SQLite by default, PostgreSQL with
--database-url: the script creates and drops a database of its own), registers the ward's
People's Committee, the benchmark procedure and an officer, writes the applications with
`sohoa bench seed-applications` (the submissions' own storage path: answers sealed, first
event, notification and audit entry; statuses and due days of a busy queue), then has
--clients connections (`sohoa bench load`) read pages of 50 for --seconds: first pages
under each filter an officer uses, and pages deep in the queue (keyset cursors at random
due days). Every figure is one HTTP request, end to end. Standard library only.
"""
import argparse
import os
import random
import subprocess
import time
import http.client

from applications import PROCEDURE, call
from foundation import bench_load, fresh_server

PASSWORD = "mật khẩu thử tải 2025"


def setup(host, port):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    s, b = call(conn, "POST", "/api/v1/agencies", {"code": "UBND-26743", "name_vi": "UBND Phường Bến Thành",
                                                     "name_en": "Ben Thanh Ward", "level": "commune", "unit_code": "26743"})
    assert s == 201, (s, b)
    s, b = call(conn, "PUT", "/api/v1/procedures/T-BENCH", PROCEDURE)
    assert s == 200, (s, b)
    s, b = call(conn, "POST", "/api/v1/staff", {"username": "canbo0", "display_name": "Cán bộ thử tải",
                                                 "role": "officer", "agency_code": "UBND-26743",
                                                 "unit_code": None, "password": PASSWORD})
    assert s == 201, (s, b)
    s, b = call(conn, "POST", "/api/v1/auth/login", {"username": "canbo0", "password": PASSWORD}, token="")
    assert s == 200, (s, b)
    return b["token"]


def cursor(due_key, number):
    return (due_key + "\x1f" + number).encode().hex()


def paths(n_deep, seed):
    """First pages under each filter, then deep pages: a cursor at a due day (with the
    smallest number) starts the page there, as following `next` that far would."""
    rnd = random.Random(seed)
    base = "/api/v1/applications?limit=50"
    first = [base, base + "&status=in_review", base + "&status=received", base + "&overdue=true",
             base + "&assigned=me", base + "&assigned=none", base + "&procedure=T-BENCH",
             base + "&due_by=2026-12-31", base + "&status=supplement_requested"]
    today = time.gmtime()
    days = []
    for _ in range(n_deep):
        t = time.mktime(today) + rnd.randint(-75, 15) * 86400
        days.append(time.strftime("%Y-%m-%d", time.gmtime(t)))
    deep = [base + "&after=" + cursor(d, "HS") for d in days]
    deep += [base + "&status=in_review&after=" + cursor(d, "HS") for d in days[: n_deep // 2]]
    return first + deep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/sohoa")
    ap.add_argument("--database-url", default=None,
                    help="PostgreSQL: a database the script may use to create its own (and drop it)")
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    with fresh_server(binary, args.database_url, "sohoa_bench_queue") as (env, data_dir, host, port):
        token = setup(host, port)
        t = time.time()
        subprocess.run([binary, "bench", "seed-applications", "--count", str(args.count),
                        "--agency", "UBND-26743", "--procedure", "T-BENCH"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        seeded = time.time() - t
        report = bench_load(binary, host, port, data_dir, "queue", paths(200, 7), [token],
                            args.clients, args.seconds)
    backend = "postgres" if args.database_url else "sqlite"
    print(f"backend: {backend}, applications: {args.count} in one agency (seeded in {seeded:.0f} s), "
          f"clients: {args.clients}")
    print(f"queue pages of 50: {report['requests']} in {report['seconds']:.0f} s, "
          f"{report['per_second']:.0f}/s, p50 {report['p50_ms']:.1f} ms, p99 {report['p99_ms']:.1f} ms, "
          f"max {report['max_ms']:.1f} ms")


if __name__ == "__main__":
    main()
