#!/usr/bin/env python3
"""Procedure-monitoring benchmark: leaders' figures over --count applications (10 million
by default), and DuckDB computing the same figures by scanning the same rows as Parquet.

Starts the release binary on a fresh database (SQLite by default, PostgreSQL with
--database-url: the script creates and drops a database of its own), registers the
People's Committee of every commune and --procedures procedures, writes the applications
with `sohoa bench seed-monitoring` (two years of receipts, most decided, about one in seven
late, the last month's still waiting, some overdue; the monitoring counters written with
them) and the same rows as CSV, then has --clients connections (`sohoa bench load`) ask
for the figures a leader's dashboard shows: the city, by commune, by agency, by procedure,
by month, and one commune by procedure. Every figure is one HTTP request, end to end.

The reference: DuckDB (`pip install duckdb`) reads the CSV into Parquet once (not timed),
then computes the same figures by scanning the Parquet file; the median of --repeat runs
of each is reported.
"""
import argparse
import json
import os
import statistics
import subprocess
import time
import http.client

from applications import PROCEDURE, call
from feedback import PASSWORD
from foundation import bench_load, fresh_server


def setup(host, port, n_procedures):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("GET", "/api/v1/boundaries.geojson")
    units = [f["properties"]["unit_code"] for f in json.loads(conn.getresponse().read())["features"]]
    for code in units:
        s, b = call(conn, "POST", "/api/v1/agencies", {"code": f"UBND-{code}", "name_vi": f"UBND {code}",
                                                         "name_en": f"People's Committee {code}",
                                                         "level": "commune", "unit_code": code})
        assert s == 201, (s, b)
    procedures = []
    for i in range(n_procedures):
        code = f"T-BENCH{i:02d}"
        s, b = call(conn, "PUT", f"/api/v1/procedures/{code}", dict(PROCEDURE, code=code))
        assert s == 200, (s, b)
        procedures.append(code)
    s, b = call(conn, "POST", "/api/v1/staff", {"username": "lanhdao0", "display_name": "Lãnh đạo thử tải",
                                                 "role": "leader", "agency_code": None,
                                                 "unit_code": None, "password": PASSWORD})
    assert s == 201, (s, b)
    s, b = call(conn, "POST", "/api/v1/auth/login", {"username": "lanhdao0", "password": PASSWORD}, token="")
    assert s == 200, (s, b)
    return units, procedures, b["token"]


def duckdb_reference(csv_path, data_dir, today, first, last, unit, repeat):
    import duckdb
    parquet = os.path.join(data_dir, "applications.parquet")
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', header=true, all_varchar=true)) "
                f"TO '{parquet}' (FORMAT parquet)")
    src = f"read_parquet('{parquet}')"
    # The same definitions as the server's: receipt month for `received`, decision month
    # (Vietnam time) for decisions, on time when decided on or before the due day.
    flows = (f"SELECT {{key}} AS k, "
             f"count(*) FILTER (WHERE substr(received_on, 1, 7) BETWEEN '{first}' AND '{last}') AS received, "
             f"count(*) FILTER (WHERE d BETWEEN '{first}' AND '{last}' AND dd <= due_on) AS on_time, "
             f"count(*) FILTER (WHERE d BETWEEN '{first}' AND '{last}' AND dd > due_on) AS late, "
             f"median(date_diff('day', CAST(received_on AS DATE), CAST(dd AS DATE))) "
             f"FILTER (WHERE d BETWEEN '{first}' AND '{last}') AS median_days, "
             f"count(*) FILTER (WHERE decided_at IS NULL) AS in_progress, "
             f"count(*) FILTER (WHERE decided_at IS NULL AND status IN ('received','in_review','resubmitted') "
             f"AND paused_on IS NULL AND due_on < '{today}') AS overdue "
             f"FROM (SELECT *, CAST(CAST(decided_at AS TIMESTAMPTZ) + INTERVAL 7 HOUR AS DATE)::VARCHAR AS dd, "
             f"substr(CAST(CAST(decided_at AS TIMESTAMPTZ) + INTERVAL 7 HOUR AS DATE)::VARCHAR, 1, 7) AS d "
             f"FROM {src} {{where}}) GROUP BY ALL")
    queries = [
        ("city", flows.format(key="'city'", where="")),
        ("by commune", flows.format(key="unit_code", where="")),
        ("by agency", flows.format(key="agency_code", where="")),
        ("by procedure", flows.format(key="procedure_code", where="")),
        ("one commune by procedure", flows.format(key="procedure_code", where=f"WHERE unit_code = '{unit}'")),
    ]
    out = []
    for name, sql in queries:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            con.execute(sql).fetchall()
            times.append((time.perf_counter() - t) * 1000)
        out.append((name, statistics.median(times)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/sohoa")
    ap.add_argument("--database-url", default=None,
                    help="PostgreSQL: a database the script may use to create its own (and drop it)")
    ap.add_argument("--count", type=int, default=10_000_000)
    ap.add_argument("--procedures", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-duckdb", action="store_true")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    with fresh_server(binary, args.database_url, "sohoa_bench_monitoring") as (env, data_dir, host, port):
        units, procedures, token = setup(host, port, args.procedures)
        csv_path = os.path.join(data_dir, "applications.csv")
        t = time.time()
        subprocess.run([binary, "bench", "seed-monitoring", "--count", str(args.count),
                        "--agencies", ",".join(f"UBND-{u}" for u in units),
                        "--procedures", ",".join(procedures), "--csv", csv_path],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        seeded = time.time() - t
        last = time.strftime("%Y-%m")
        first = time.strftime("%Y-%m", time.gmtime(time.time() - 335 * 86400))
        period = f"from={first}&to={last}"
        unit = units[len(units) // 2]
        runs = [
            ("city totals", f"/api/v1/monitoring?by=city&{period}"),
            ("by commune (168 rows)", f"/api/v1/monitoring?by=unit&{period}"),
            ("by agency", f"/api/v1/monitoring?by=agency&{period}"),
            ("by procedure", f"/api/v1/monitoring?by=procedure&{period}"),
            ("by month", f"/api/v1/monitoring?by=month&{period}"),
            ("one commune by procedure", f"/api/v1/monitoring?by=procedure&unit={unit}&{period}"),
        ]
        results = [(name, bench_load(binary, host, port, data_dir, f"run{i}", [path], [token],
                                     args.clients, args.seconds))
                   for i, (name, path) in enumerate(runs)]
        reference = [] if args.no_duckdb else duckdb_reference(
            csv_path, data_dir, time.strftime("%Y-%m-%d"), first, last, unit, args.repeat)
    backend = "postgres" if args.database_url else "sqlite"
    print(f"backend: {backend}, applications: {args.count} over {len(units)} communes and "
          f"{len(procedures)} procedures (seeded in {seeded:.0f} s), clients: {args.clients}")
    for name, r in results:
        print(f"{name}: {r['requests']} in {r['seconds']:.0f} s, {r['per_second']:.0f}/s, "
              f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms")
    for name, ms in reference:
        print(f"DuckDB over Parquet, {name}: median {ms:.0f} ms")


if __name__ == "__main__":
    main()
