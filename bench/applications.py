#!/usr/bin/env python3
"""Applications benchmark: durable submissions per second.

Starts the release binary on a fresh database (SQLite by default, PostgreSQL with
--database-url), registers a ward, imports citizens of that ward, opens and signs in their
accounts, saves a commune-level procedure whose form pre-fills two fields from the registry,
then has --clients connections (`sohoa bench load`) submit applications, each with its own
Idempotency-Key, for --seconds. Each 201 is a committed transaction holding the application
(answers sealed), its first event, its idempotency key, its inbox and outbox rows and its
audit entry. Standard library only.
"""
import argparse
import http.client
import json
import os
import subprocess

from foundation import TOKEN, fresh_server


def call(conn, method, path, body=None, token=TOKEN, headers=None):
    h = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
    h.update(headers or {})
    conn.request(method, path, json.dumps(body) if body is not None else None, h)
    res = conn.getresponse()
    data = res.read()
    return res.status, (json.loads(data) if data else None)


PROCEDURE = {
    "code": "T-BENCH", "name_vi": "Thủ tục thử tải", "name_en": "Load test procedure",
    "level": "commune", "agency_code": None, "deadline_days": 5, "fee": None, "waivers": [],
    "documents": [],
    "form": [
        {"key": "name", "label_vi": "Họ tên", "label_en": "Name", "kind": {"type": "text", "max_len": 100},
         "required": True, "source": {"registry": "citizens", "field": "full_name"}},
        {"key": "born", "label_vi": "Ngày sinh", "label_en": "Born", "kind": {"type": "date"},
         "required": True, "source": {"registry": "citizens", "field": "date_of_birth"}},
        {"key": "reason", "label_vi": "Lý do", "label_en": "Reason", "kind": {"type": "text", "max_len": 200},
         "required": True, "source": None},
        {"key": "copies", "label_vi": "Số bản", "label_en": "Copies", "kind": {"type": "integer", "min": 1, "max": 10},
         "required": True, "source": None},
    ],
}
PASSWORD = "mật khẩu thử tải 2025"


def setup(binary, env, data_dir, host, port, citizens):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    s, b = call(conn, "POST", "/api/v1/agencies", {"code": "UBND-26743", "name_vi": "UBND Phường Bến Thành",
                                                     "name_en": "Ben Thanh Ward", "level": "commune", "unit_code": "26743"})
    assert s == 201, (s, b)
    ids = [f"079185{n:06d}" for n in range(1, citizens + 1)]
    path = os.path.join(data_dir, "citizens.csv")
    with open(path, "w") as f:
        f.write("citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit\n")
        names = ["An", "Bình", "Chi", "Dung", "Giang", "Hà", "Hương", "Lan", "Mai", "Ngọc", "Phương", "Thảo"]
        for i, c in enumerate(ids):
            name = f"Nguyễn Thị {names[i % len(names)]} {names[(i // len(names)) % len(names)]}"
            f.write(f"{c},{name},1985-03-14,female,{i + 1} Lê Lợi,26743\n")
    subprocess.run([binary, "import", "citizens", path], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tokens = []
    for c in ids:
        s, b = call(conn, "POST", "/api/v1/accounts/citizens", {"citizen_id": c, "password": PASSWORD})
        assert s == 201, (s, b)
        s, b = call(conn, "POST", "/api/v1/auth/login", {"citizen_id": c, "password": PASSWORD}, token="")
        assert s == 200, (s, b)
        tokens.append(b["token"])
    s, b = call(conn, "PUT", "/api/v1/procedures/T-BENCH", PROCEDURE)
    assert s == 200, (s, b)
    return tokens


def submissions(binary, data_dir, host, port, tokens, seconds, clients):
    """The load itself comes from `sohoa bench load` (Rust): a Python client on the same two
    cores would spend more CPU per request than the server it measures."""
    body = {"procedure_code": "T-BENCH", "answers": {"reason": "Thử tải", "copies": 2}}
    body_path = os.path.join(data_dir, "body.json")
    tokens_path = os.path.join(data_dir, "tokens.txt")
    with open(body_path, "w") as f:
        json.dump(body, f, ensure_ascii=False)
    with open(tokens_path, "w") as f:
        f.write("\n".join(tokens) + "\n")
    out = subprocess.run(
        [binary, "bench", "load", "--url", f"http://{host}:{port}", "--path", "/api/v1/applications",
         "--method", "POST", "--body-file", body_path, "--tokens-file", tokens_path,
         "--idempotency-prefix", "bench", "--expect", "201", "--clients", str(clients),
         "--seconds", str(seconds)],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/sohoa")
    ap.add_argument("--database-url", default=None,
                    help="PostgreSQL: a database the script may use to create its own (and drop it)")
    ap.add_argument("--citizens", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=32)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    with fresh_server(binary, args.database_url, "sohoa_bench_apps") as (env, data_dir, host, port):
        tokens = setup(binary, env, data_dir, host, port, args.citizens)
        report = submissions(binary, data_dir, host, port, tokens, args.seconds, args.clients)
    backend = "postgres" if args.database_url else "sqlite"
    print(f"backend: {backend}, clients: {args.clients}, citizens: {len(tokens)}")
    print(f"durable submissions: {report['requests']} in {report['seconds']:.0f} s, "
          f"{report['per_second']:.0f}/s, p50 {report['p50_ms']:.1f} ms, p99 {report['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
