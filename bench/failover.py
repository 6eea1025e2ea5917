#!/usr/bin/env python3
"""Failover under load: nothing acknowledged is lost, and how long the city waits.

Brings up deploy/cluster (etcd, two PostgreSQL nodes under Patroni with synchronous
replication, HAProxy, three `sohoa serve`), sets up a ward, citizens with accounts and a
procedure, then for each round: --clients citizens submit applications through HAProxy,
each with its own Idempotency-Key, retrying the same key after a 503 (waiting its
Retry-After) or a broken connection, so that a submission acknowledged once is one
application; after --before seconds the primary's whole node dies (kill -9 of its Patroni
and its PostgreSQL: a host lost, not a process Patroni would restart); Patroni promotes the
standby once the leader key lapses; the load goes on until service has been back for
--after seconds. Then every acknowledged application is looked for in the database, the
dead node rejoins as a standby, and the next round kills the new primary.

Per round: acknowledged submissions, lost ones (goal 0), the longest time without an
acknowledgement (the outage as clients see it), 503s (answers that said "try again"),
other 5xx (goal 0) and broken connections. Standard library only.
"""
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from applications import PROCEDURE, setup  # noqa: E402
from foundation import TOKEN  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(ROOT, "deploy", "cluster")


def ports():
    base = int(os.environ.get("CLUSTER_PORT_BASE", "15000"))
    return {"db": base, "http": base + 80, "pg": base + 432, "api": base + 8}


def leader(p):
    """The node (1 or 2) whose Patroni says it is the primary, if one does."""
    for n in (1, 2):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{p['api'] + n - 1}/primary", timeout=1) as r:
                if r.status == 200:
                    return n
        except Exception:
            pass
    return None


def has_sync_standby(p, n):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{p['api'] + n - 1}/cluster", timeout=1) as r:
            members = json.load(r)["members"]
        return any(m.get("role") == "sync_standby" and m.get("state") in ("running", "streaming")
                   for m in members)
    except Exception:
        return False


def kill_node(cluster_dir, n):
    """Kills node n's Patroni and PostgreSQL with SIGKILL, as a lost host."""
    node = os.path.join(cluster_dir, f"pg{n}")
    with open(os.path.join(node, "patroni.pid")) as f:
        patroni = int(f.read().strip())
    with open(os.path.join(node, "data", "postmaster.pid")) as f:
        postmaster = int(f.readline().strip())
    # Every process of the node at once, as when its host is lost: the postmaster's
    # children (backends, the WAL sender) would otherwise serve their connections on for a
    # while after their parent died.
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    for pid in [patroni, postmaster] + [int(c) for c in children]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Load:
    """Clients submitting applications until stopped, recording every outcome."""

    def __init__(self, host, port, tokens, round_no):
        self.host, self.port, self.tokens, self.round_no = host, port, tokens, round_no
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}  # idempotency key -> application number
        self.ack_times = []
        self.s503 = 0
        self.s5xx = 0
        self.other = {}
        self.broken = 0

    def client(self, i, token):
        conn = None
        seq = 0
        body = json.dumps({"procedure_code": PROCEDURE["code"],
                           "answers": {"reason": "Thử chuyển đổi dự phòng", "copies": 1}})
        while not self.stop.is_set():
            key = f"failover-{self.round_no}-{i}-{seq}"
            while not self.stop.is_set():
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                    conn.request("POST", "/api/v1/applications", body, {
                        "Content-Type": "application/json", "Authorization": "Bearer " + token,
                        "Idempotency-Key": key})
                    res = conn.getresponse()
                    data = res.read()
                except (OSError, http.client.HTTPException):
                    with self.lock:
                        self.broken += 1
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.2)
                    continue
                if res.status in (200, 201):
                    number = json.loads(data)["number"]
                    with self.lock:
                        self.acked[key] = number
                        self.ack_times.append(time.monotonic())
                    break
                with self.lock:
                    if res.status == 503:
                        self.s503 += 1
                    elif res.status >= 500:
                        self.s5xx += 1
                    else:
                        self.other[res.status] = self.other.get(res.status, 0) + 1
                wait = res.getheader("Retry-After")
                time.sleep(min(float(wait), 2.0) if wait and wait.isdigit() else 0.5)
            seq += 1
        if conn is not None:
            conn.close()

    def start(self, clients):
        self.threads = [threading.Thread(target=self.client, args=(i, self.tokens[i % len(self.tokens)]),
                                         daemon=True) for i in range(clients)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def longest_gap(self, since):
        times = sorted(t for t in self.ack_times if t >= since - 5)
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)

    def last_ack(self):
        return max(self.ack_times, default=0.0)


def stored_numbers(pg_bin, p):
    """Every application's number, read from the primary through HAProxy."""
    for _ in range(120):
        out = subprocess.run([os.path.join(pg_bin, "psql"), "-h", "127.0.0.1", "-p", str(p["db"]), "-U", "postgres",
                              "-d", "sohoa", "-Atc", "SELECT number FROM applications"],
                             capture_output=True, text=True)
        if out.returncode == 0:
            return set(out.stdout.split())
        err = out.stderr.strip()
        time.sleep(0.5)
    raise RuntimeError(f"the applications could not be read: {err}")


def one_round(args, p, tokens, cluster_dir, pg_bin, round_no):
    load = Load("127.0.0.1", p["http"], tokens, round_no)
    load.start(args.clients)
    time.sleep(args.before)
    victim = leader(p)
    assert victim, "no primary before the kill"
    killed_at = time.monotonic()
    kill_node(cluster_dir, victim)
    # Until the standby is promoted and acknowledgements have flowed since for --after s.
    deadline = killed_at + args.timeout
    promoted, promoted_at = None, None
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if promoted is None:
            promoted = leader(p)
            promoted_at = time.monotonic() if promoted else None
            continue
        with load.lock:
            since = [t for t in load.ack_times[-1000:] if t > promoted_at]
        if since and time.monotonic() - since[0] >= args.after:
            break
    load.finish()
    first_after = min((t for t in load.ack_times if t > killed_at), default=None)
    lost = set(load.acked.values()) - stored_numbers(pg_bin, p)
    result = {
        "round": round_no, "killed": f"pg{victim}", "promoted": f"pg{promoted}" if promoted else None,
        "acknowledged": len(load.acked), "lost": len(lost),
        "seconds_without_acknowledgement": round(load.longest_gap(killed_at), 2),
        "seconds_to_first_acknowledgement": round(first_after - killed_at, 2) if first_after else None,
        "seconds_to_promotion": round(promoted_at - killed_at, 2) if promoted_at else None,
        "answers_503": load.s503, "other_5xx": load.s5xx, "broken_connections": load.broken,
        "other_statuses": load.other,
    }
    # The dead node comes back as a standby of the new primary (Patroni rewinds it).
    subprocess.run([os.path.join(CLUSTER, "start-node.sh"), str(victim)], check=True,
                   env=dict(os.environ, CLUSTER_DIR=cluster_dir, PG_BIN=pg_bin), stdout=subprocess.DEVNULL)
    end = time.monotonic() + 180
    while time.monotonic() < end and not (promoted and has_sync_standby(p, promoted)):
        time.sleep(0.5)
    result["standby_back"] = bool(promoted and has_sync_standby(p, promoted))
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "sohoa"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--citizens", type=int, default=32)
    ap.add_argument("--before", type=float, default=5.0, help="seconds of load before the kill")
    ap.add_argument("--after", type=float, default=5.0, help="seconds of service after it is back")
    ap.add_argument("--timeout", type=float, default=120.0, help="longest a round waits for service")
    ap.add_argument("--keep", action="store_true", help="leave the cluster up afterwards")
    args = ap.parse_args()
    binary = args.binary if os.path.exists(args.binary) else os.path.join(ROOT, "target", "debug", "sohoa")
    cluster_dir = os.environ.get("CLUSTER_DIR", "/tmp/sohoa-cluster-failover")
    pg_bin = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql"))
                    if os.path.isdir(d))[-1]
    env = dict(os.environ, CLUSTER_DIR=cluster_dir, SOHOA_BIN=binary, SOHOA_ADMIN_TOKEN=TOKEN, PG_BIN=pg_bin)
    p = ports()
    subprocess.run([os.path.join(CLUSTER, "down.sh"), "--purge"], env=env, stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(CLUSTER, "up.sh")], env=env, check=True, stdout=subprocess.DEVNULL)
    results = []
    try:
        cli_env = dict(env, SOHOA_DATABASE_URL=f"postgres://postgres@127.0.0.1:{p['db']}/sohoa",
                       SOHOA_DATA_DIR=os.path.join(cluster_dir, "data"))
        tokens = setup(binary, cli_env, cluster_dir, "127.0.0.1", p["http"], args.citizens)
        for r in range(1, args.rounds + 1):
            res = one_round(args, p, tokens, cluster_dir, pg_bin, r)
            results.append(res)
            print(json.dumps(res, ensure_ascii=False), flush=True)
    finally:
        if not args.keep:
            subprocess.run([os.path.join(CLUSTER, "down.sh"), "--purge"], env=env, stdout=subprocess.DEVNULL)
    print(f"\nbinary: {os.path.relpath(binary, ROOT)}, clients: {args.clients}, rounds: {len(results)}")
    print("| round | killed → promoted | acknowledged | lost | s without ack | 503 | other 5xx | broken conns |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['round']} | {r['killed']} → {r['promoted']} | {r['acknowledged']} | {r['lost']} | "
              f"{r['seconds_without_acknowledgement']} | {r['answers_503']} | {r['other_5xx']} | "
              f"{r['broken_connections']} |")
    bad = [r for r in results if r["lost"] or r["other_5xx"] or not r["standby_back"]]
    sys.exit(1 if bad or len(results) < args.rounds else 0)


if __name__ == "__main__":
    main()
