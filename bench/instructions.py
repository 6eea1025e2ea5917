#!/usr/bin/env python3
"""Instructions per request of two `sohoa` binaries, counted by valgrind's callgrind.

    python3 bench/instructions.py BASE_BIN NEW_BIN [--lookups N] [--pages N] [--annotate DIR]

bench/compare.sh measures throughput, which moves by 5-15% between runs of one binary on a
2-core machine: a change of a few percent in the request path hides in that noise. The
instructions a request executes do not move: callgrind counts the same total for the same
binary, inputs and environment whatever else the machine is doing. This script counts them
for the two workloads whose throughput compare.sh watches most closely:

  registry  audited look-ups `GET /api/v1/share/citizens/{cccd}?purpose=...` with an agency's
            API key (2,000 citizens imported, as compare.sh sets them up);
  queue     the officers' queue, `GET /api/v1/applications?limit=50` first pages under each
            filter and pages deep in it (20,000 applications of one agency, seeded as
            bench/queue.py seeds them).

Each server runs under callgrind with instrumentation off while it starts, is set up and
serves a warm-up (so neither start-up nor first-touch work counts); instrumentation is then
switched on and the counts zeroed for exactly the measured requests (one keep-alive connection, one request at a time) and the
counts dumped. The figure is instructions per request over every thread of the server (the
request's task, the audit writer, the database's threads).

Instructions are not time: a request that waits longer on the disk or on a lock costs none
here. Read this beside compare.sh, not instead of it. --annotate keeps each run's callgrind
file in DIR, for `callgrind_annotate` (the functions whose counts changed).

Needs valgrind (Debian package). Takes about 5 minutes; standard library only.
"""
import argparse
import http.client
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOKEN = "bench-admin-token-0123456789"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# bench/queue.py sets the queue up (its agency, procedure and officer); loaded under another
# name, since `queue` is also the standard library's.
_spec = importlib.util.spec_from_file_location(
    "queue_bench", os.path.join(os.path.dirname(os.path.abspath(__file__)), "queue.py"))
QUEUE_BENCH = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(QUEUE_BENCH)


def call(conn, method, path, body=None, token=TOKEN):
    h = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
    conn.request(method, path, json.dumps(body) if body is not None else None, h)
    res = conn.getresponse()
    data = res.read()
    return res.status, (json.loads(data) if data else None)


class Server:
    """`sohoa serve` under callgrind, collecting nothing until `measure` says so."""

    def __init__(self, binary, data_dir, out_file, cache_sim=False):
        self.out_file = out_file
        self.env = dict(os.environ, SOHOA_ADMIN_TOKEN=TOKEN, SOHOA_DATA_DIR=data_dir,
                        SOHOA_LOGIN_RATE_LIMIT="0")
        self.log = open(os.path.join(data_dir, "server.log"), "w+")
        self.proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
             *(["--cache-sim=yes", "--branch-sim=yes"] if cache_sim else []),
             binary, "serve", "--listen", "127.0.0.1:0", "--log-format", "json",
             "--log", "warn,sohoa=info,sohoa_web=warn", "--rate-limit", "0"],
            env=self.env, stderr=self.log, stdout=subprocess.DEVNULL, cwd=data_dir)
        deadline = time.time() + 300
        while time.time() < deadline:
            self.log.seek(0)
            m = re.search(r'"addr":"([^"]+):(\d+)"', self.log.read())
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                break
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise SystemExit("server did not start:\n" + self.log.read())
            time.sleep(0.5)
        else:
            raise SystemExit("server gave no address in 300 s")
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        while call(self.conn, "GET", "/readyz")[0] != 200:
            time.sleep(0.5)

    def control(self, *args):
        subprocess.run(["callgrind_control", *args, str(self.proc.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def measure(self, requests, token):
        """Instructions per request over `requests` (paths), each answered 200; with the
        cache simulation, every event callgrind counted, per request, by name."""
        self.control("-z")
        for path in requests:
            status, body = call(self.conn, "GET", path, token=token)
            if status != 200:
                raise SystemExit(f"{path}: {status} {body}")
        self.control("-d")
        self.proc.terminate()
        self.proc.wait(timeout=120)
        # The dump asked for above is the file's first part (`.1`); the part written at exit
        # holds the shutdown, which is not measured.
        events, totals = [], []
        with open(self.out_file + ".1") as f:
            for line in f:
                if line.startswith("events:"):
                    events = line.split()[1:]
                elif line.startswith("totals:"):
                    totals = [int(x) for x in line.split()[1:]]
        return {e: t / len(requests) for e, t in zip(events, totals)}


def registry_run(binary, work, label, lookups, keep, cache_sim):
    data = os.path.join(work, f"registry-{label}")
    os.makedirs(data)
    env = dict(os.environ, SOHOA_DATA_DIR=data)
    subprocess.run([binary, "generate", "--citizens", "2000", "--enterprises", "10", "--parcels", "10",
                    "--seed", "2026", "--out", os.path.join(work, f"gen-{label}")],
                   check=True, stdout=subprocess.DEVNULL, env=env)
    csv = os.path.join(work, f"gen-{label}", "citizens.csv")
    subprocess.run([binary, "import", "citizens", csv], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env)
    ids = [line.split(",")[0] for line in open(csv, encoding="utf-8").read().splitlines()[1:]]
    srv = Server(binary, data, os.path.join(keep, f"registry-{label}.cg"), cache_sim)
    c = srv.conn
    s, b = call(c, "POST", "/api/v1/agencies", {"code": "BENCH", "name_vi": "Cơ quan đo", "name_en": "Bench agency",
                                                "level": "city", "unit_code": "79"})
    assert s == 201, (s, b)
    s, b = call(c, "POST", "/api/v1/agencies/BENCH/keys")
    assert s == 201, (s, b)
    key = b["api_key"]
    s, b = call(c, "POST", "/api/v1/agencies/BENCH/grants",
                {"registry": "citizens", "purpose": "building-permit",
                 "fields": ["full_name", "permanent_address"], "legal_basis": "bench"})
    assert s == 201, (s, b)
    rnd = random.Random(11)
    paths = [f"/api/v1/share/citizens/{rnd.choice(ids)}?purpose=building-permit" for _ in range(lookups + 200)]
    for p in paths[:200]:
        s, b = call(c, "GET", p, token=key)
        assert s == 200, (s, b)
    return srv.measure(paths[200:], key)


def queue_run(binary, work, label, pages, keep, count, cache_sim):
    data = os.path.join(work, f"queue-{label}")
    os.makedirs(data)
    srv = Server(binary, data, os.path.join(keep, f"queue-{label}.cg"), cache_sim)
    c = srv.conn
    token = QUEUE_BENCH.setup(srv.host, srv.port)
    subprocess.run([binary, "bench", "seed-applications", "--count", str(count), "--agency", "UBND-26743",
                    "--procedure", "T-BENCH"], env=srv.env, check=True, stdout=subprocess.DEVNULL)
    # The same pages as bench/queue.py's: first pages under each filter, then deep ones. Due
    # days are fixed (not today's) so that both binaries read the same rows.
    base = "/api/v1/applications?limit=50"
    first = [base, base + "&status=in_review", base + "&status=received", base + "&overdue=true",
             base + "&assigned=me", base + "&assigned=none", base + "&procedure=T-BENCH",
             base + "&due_by=2026-12-31", base + "&status=supplement_requested"]
    rnd = random.Random(7)
    today = time.time()
    deep = []
    for _ in range(pages):
        day = time.strftime("%Y-%m-%d", time.gmtime(today + rnd.randint(-75, 15) * 86400))
        deep.append(base + "&after=" + (day + "\x1f" + "HS").encode().hex())
    paths = [first[i % len(first)] if i % 3 == 0 else deep[i] for i in range(pages)]
    for p in paths[:50]:
        s, b = call(c, "GET", p, token=token)
        assert s == 200, (s, b)
    return srv.measure(paths, token)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base")
    ap.add_argument("new")
    ap.add_argument("--lookups", type=int, default=1000)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--applications", type=int, default=20000, help="in the queue")
    ap.add_argument("--annotate", help="keep the callgrind files in this directory")
    ap.add_argument("--cache-sim", action="store_true",
                    help="also simulate the caches and branch predictor (I1mr: instruction-cache "
                         "misses, D1mr/DLmr: data misses, Bcm: mispredicted branches), per request; "
                         "about three times slower")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is missing (apt-get install valgrind)")
    bins = {"BASE": os.path.abspath(args.base), "NEW": os.path.abspath(args.new)}
    with tempfile.TemporaryDirectory() as work:
        keep = os.path.abspath(args.annotate) if args.annotate else os.path.join(work, "cg")
        os.makedirs(keep, exist_ok=True)
        figures = {}
        for label, binary in bins.items():
            figures[("registry", label)] = registry_run(
                binary, work, label, args.lookups, keep, args.cache_sim)
            print(f"registry {label}: {figures[('registry', label)]['Ir']:,.0f} instructions per look-up",
                  flush=True)
            figures[("queue", label)] = queue_run(
                binary, work, label, args.pages, keep, args.applications, args.cache_sim)
            print(f"queue    {label}: {figures[('queue', label)]['Ir']:,.0f} instructions per page",
                  flush=True)
    for w in ("registry", "queue"):
        a, b = figures[(w, "BASE")], figures[(w, "NEW")]
        for event in a:
            if a[event]:
                print(f"{w:9} {event:5} BASE {a[event]:12,.0f}  NEW {b[event]:12,.0f}  "
                      f"change {100 * (b[event] - a[event]) / a[event]:+.1f}%")


if __name__ == "__main__":
    main()
