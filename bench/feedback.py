#!/usr/bin/env python3
"""Feedback benchmark: the public map and the service evaluation over --count reports
(1 million by default).

Starts the release binary on a fresh database (SQLite by default, PostgreSQL with
--database-url: the script creates and drops a database of its own), registers the
People's Committee of every commune (so reports route as a resident's would), writes the
reports with `sohoa bench seed-reports` (over a year and every status, seven in ten in the
dense core, with resolution times, ratings and their evaluation counters), then has
--clients connections (`sohoa bench load`) ask for:
  - the GeoJSON of district-sized boxes (0.05 x 0.05 degrees, about 5.5 x 5.5 km) at random
    in the core, as many features as the API gives (5,000), and open ones only;
  - the commune aggregates of the evaluation over 12 months and over one month, public
    and (by commune x agency) for leaders.
Every figure is one HTTP request, end to end. Standard library only.
"""
import argparse
import json
import os
import random
import subprocess
import time
import http.client

from applications import call
from foundation import bench_load, fresh_server

PASSWORD = "mật khẩu thử tải 2025"


def setup(host, port):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("GET", "/api/v1/boundaries.geojson")
    units = [f["properties"]["unit_code"] for f in json.loads(conn.getresponse().read())["features"]]
    for code in units:
        s, b = call(conn, "POST", "/api/v1/agencies", {"code": f"UBND-{code}", "name_vi": f"UBND {code}",
                                                         "name_en": f"People's Committee {code}",
                                                         "level": "commune", "unit_code": code})
        assert s == 201, (s, b)
    s, b = call(conn, "POST", "/api/v1/staff", {"username": "lanhdao0", "display_name": "Lãnh đạo thử tải",
                                                 "role": "leader", "agency_code": None,
                                                 "unit_code": None, "password": PASSWORD})
    assert s == 201, (s, b)
    s, b = call(conn, "POST", "/api/v1/auth/login", {"username": "lanhdao0", "password": PASSWORD}, token="")
    assert s == 200, (s, b)
    return len(units), b["token"]


def boxes(n, seed, extra=""):
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        lat = 10.70 + rnd.random() * 0.11
        lon = 106.60 + rnd.random() * 0.15
        out.append(f"/api/v1/reports.geojson?limit=5000&bbox={lon:.4f},{lat:.4f},{lon + 0.05:.4f},{lat + 0.05:.4f}{extra}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/sohoa")
    ap.add_argument("--database-url", default=None,
                    help="PostgreSQL: a database the script may use to create its own (and drop it)")
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    with fresh_server(binary, args.database_url, "sohoa_bench_feedback") as (env, data_dir, host, port):
        n_units, token = setup(host, port)
        t = time.time()
        subprocess.run([binary, "bench", "seed-reports", "--count", str(args.count)],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        seeded = time.time() - t
        this_month = time.strftime("%Y-%m")
        year_ago = time.strftime("%Y-%m", time.gmtime(time.time() - 335 * 86400))
        runs = [
            ("GeoJSON, district-sized box, up to 5,000 reports", boxes(200, 7), None),
            ("GeoJSON, district-sized box, open reports only", boxes(200, 8, "&status=open"), None),
            ("commune aggregates, 12 months, public", [f"/api/v1/evaluation/public?from={year_ago}&to={this_month}"], None),
            ("commune aggregates, this month, public", [f"/api/v1/evaluation/public?from={this_month}&to={this_month}"], None),
            ("commune x agency aggregates, 12 months, leaders",
             [f"/api/v1/evaluation?by=unit_agency&from={year_ago}&to={this_month}"], token),
        ]
        results = [(name, bench_load(binary, host, port, data_dir, f"run{i}", paths, [tok] if tok else [],
                                     args.clients, args.seconds))
                   for i, (name, paths, tok) in enumerate(runs)]
    backend = "postgres" if args.database_url else "sqlite"
    print(f"backend: {backend}, reports: {args.count} over {n_units} communes (seeded in {seeded:.0f} s), "
          f"clients: {args.clients}")
    for name, r in results:
        print(f"{name}: {r['requests']} in {r['seconds']:.0f} s, {r['per_second']:.0f}/s, "
              f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms")


if __name__ == "__main__":
    main()
