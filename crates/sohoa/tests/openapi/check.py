#!/usr/bin/env python3
"""Checks sohoa's OpenAPI document against the running server, as a generated client would
rely on it.

For every operation, a request is built from the document alone: each required parameter
and body field from its own example (or its enum's first value, or a bound it states).
The request is sent with each credential given in turn until one is not refused for who
it is (401/403), and the answer must be
  - 2xx, or a 4xx the operation documents that is not about the request's shape
    (400, 415 and 422 mean the document's own example was refused: the document is looser
    than the API, or its example is wrong);
  - never 5xx;
and its JSON body must match the schema declared for that status (JSON Schema 2020-12,
which OpenAPI 3.1 schemas are, checked by the `jsonschema` package).

Then each string the request sent whose schema states no bound (no maxLength, pattern,
enum or date format), in the body or the query, is sent again far too long, alone: if the
server refuses it with 422 naming that field, it enforces a bound the document hides.

Usage: check.py BASE_URL CREDENTIALS_JSON
  CREDENTIALS_JSON: {"name": "bearer token or null", ...} tried in order.
Prints one line per operation and a summary; exits 1 when any operation fails, 3 when
`jsonschema` is not installed.
"""
import copy
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

try:
    import jsonschema
except ImportError:
    print("jsonschema is not installed (pip install jsonschema)")
    sys.exit(3)

SHAPE_ERRORS = {400, 415, 422}
# A refusal no document can prevent: the code of the caller's authenticator app cannot be
# written into an example. The operation must answer exactly this, and nothing else.
NEEDS_A_SECRET = {
    ("post", "/api/v1/auth/totp/confirm"): "invalid_totp",
    ("post", "/api/v1/auth/totp/disable"): "invalid_totp",
    # Likewise the one-time code sent to a resident's phone.
    ("post", "/api/v1/accounts/citizens/activate"): "invalid_activation_code",
    # A signing key is made with the account's password and a current one-time code.
    ("post", "/api/v1/me/signing-credentials"): "remote_signing_refused",
    # The CSC API's operations name a person's credential, their password and one-time code,
    # or an authorization just given: refused in the CSC's own shape, {"error": "..."}.
    ("post", "/csc/v2/credentials/info"): "invalid_request",
    ("post", "/csc/v2/credentials/authorize"): "invalid_request",
    ("post", "/csc/v2/signatures/signHash"): "invalid_request",
}
# Refusals that say the data an example names is missing or not in the state asked for
# (the document's 4xx "for missing data"), not that the request is malformed.
MISSING_DATA = {"series_too_short"}
# Images cannot be written as a JSON example: the smallest valid file of the media type
# stands in (the one place this goes beyond the document).
SMALLEST = {
    "image/png": bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a0000000"
        "0049454e44ae426082"),
    "image/jpeg": bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9"),
}
# Longer than any free text the server admits, well under its body limit.
TOO_LONG = "a" * 5000
# Operations that end what other operations rely on, checked last.
LAST = {("post", "/api/v1/auth/logout")}


class Missing(Exception):
    """The document gives no example for a value a request needs."""


def main():
    base, creds = sys.argv[1].rstrip("/"), json.loads(sys.argv[2])
    doc = json.load(urllib.request.urlopen(base + "/api/openapi.json"))
    schemas = doc.get("components", {}).get("schemas", {})

    def resolve(s):
        seen = 0
        while isinstance(s, dict) and "$ref" in s and seen < 20:
            s = schemas[s["$ref"].rsplit("/", 1)[-1]]
            seen += 1
        return s

    def example(s, where):
        own = s if isinstance(s, dict) else {}
        for holder in (own, resolve(own)):
            if "example" in holder:
                return holder["example"]
            if holder.get("examples"):
                return holder["examples"][0]
        s = resolve(s)
        if "enum" in s:
            return s["enum"][0]
        if "const" in s:
            return s["const"]
        for key in ("oneOf", "anyOf"):
            for alt in s.get(key, []):
                alt_r = resolve(alt)
                if alt_r.get("type") != "null":
                    try:
                        return example(alt, where)
                    except Missing:
                        continue
        types = s.get("type")
        types = [types] if isinstance(types, str) else (types or [])
        types = [t for t in types if t != "null"]
        kind = types[0] if types else ("object" if "properties" in s else None)
        if kind == "object":
            out = {}
            required = set(s.get("required", []))
            for name, prop in s.get("properties", {}).items():
                if name in required:
                    out[name] = example(prop, f"{where}.{name}")
                else:
                    try:
                        out[name] = example(prop, f"{where}.{name}")
                    except Missing:
                        pass
            return out
        if kind == "array":
            return []
        if kind in ("integer", "number") and "minimum" in s:
            return s["minimum"]
        if kind == "boolean":
            return False
        raise Missing(where)

    def unbounded(s):
        s = resolve(s)
        for key in ("oneOf", "anyOf"):
            alts = [a for a in s.get(key, []) if resolve(a).get("type") != "null"]
            if alts:
                return all(unbounded(a) for a in alts)
        types = s.get("type")
        types = [types] if isinstance(types, str) else (types or [])
        return "string" in types and not (
            {"maxLength", "pattern", "enum", "const"} & s.keys()
            or s.get("format") in ("date", "date-time", "binary"))

    def string_leaves(value, s, at):
        """(path, key) of each string in `value` whose schema states no bound."""
        s = resolve(s)
        for key in ("oneOf", "anyOf"):
            for alt in s.get(key, []):
                if resolve(alt).get("type") != "null":
                    s = resolve(alt)
                    break
        if isinstance(value, str) and unbounded(s):
            yield at
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from string_leaves(v, s.get("properties", {}).get(k, {}), at + [k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from string_leaves(v, s.get("items", {}), at + [i])

    def send(url, body, headers, ctype, token):
        req = urllib.request.Request(url, data=body, method=method.upper())
        for k, v in headers.items():
            req.add_header(k, v)
        if ctype:
            req.add_header("Content-Type", ctype)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req) as res:
                return res.status, res.read(), res.headers.get("content-type", "")
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get("content-type", "")

    def encode(value, ctype):
        if ctype == "application/json":
            return json.dumps(value).encode()
        if ctype == "application/x-www-form-urlencoded":
            return urllib.parse.urlencode(value).encode()
        return value.encode() if isinstance(value, str) else bytes(value)

    def hidden_bounds(query, query_schemas, value, body_schema, headers, ctype, token):
        """The fields whose unstated bound the server enforces."""
        probes = []
        for k, v in query.items():
            if isinstance(v, str) and unbounded(query_schemas[k]):
                probes.append((k, {**query, k: TOO_LONG}, value))
        if ctype in ("application/json", "application/x-www-form-urlencoded"):
            for at in string_leaves(value, body_schema, []):
                probed = copy.deepcopy(value)
                holder = probed
                for step in at[:-1]:
                    holder = holder[step]
                holder[at[-1]] = TOO_LONG
                probes.append((".".join(map(str, at)), query, probed))
        found = []
        for i, (field, q, v) in enumerate(probes):
            h = {k: (f"{x}-probe{i}" if k == "Idempotency-Key" else x) for k, x in headers.items()}
            url = base + url_path + ("?" + urllib.parse.urlencode(q) if q else "")
            status, raw, _ = send(url, encode(v, ctype) if ctype else None, h, ctype, token)
            if status != 422:
                continue
            try:
                named = json.loads(raw)["error"].get("field") or ""
            except (ValueError, KeyError, TypeError, AttributeError):
                named = ""
            last = field.rsplit(".", 1)[-1]
            if named and (named == field or named.rsplit(".", 1)[-1] == last):
                found.append(field)
        return found

    def validator(schema):
        # Component references resolve against the document itself.
        root = {"components": doc.get("components", {}), **schema}
        return jsonschema.Draft202012Validator(root)

    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ops.append((method, path, op))
    ops.sort(key=lambda o: (o[0], o[1]) in LAST)

    failures = []
    for method, path, op in ops:
        name = f"{method.upper()} {path}"
        try:
            url_path, query, headers, body, ctype = path, {}, {}, None, None
            query_schemas, value, body_schema = {}, None, {}
            for p in op.get("parameters", []):
                own = p.get("schema", {})
                has_example = "example" in p or "example" in own
                if not p.get("required") and p["in"] != "path" and not has_example:
                    continue
                value = example(p.get("schema", {}) | ({"example": p["example"]} if "example" in p else {}), f"{name} {p['name']}")
                if p["in"] == "path":
                    url_path = url_path.replace("{" + p["name"] + "}", urllib.parse.quote(str(value), safe=""))
                elif p["in"] == "query":
                    query[p["name"]] = value
                    query_schemas[p["name"]] = p.get("schema", {})
                elif p["in"] == "header":
                    headers[p["name"]] = str(value)
            content = op.get("requestBody", {}).get("content", {})
            if content:
                # The first media type with an example, else one this script can make.
                choices = [(t, m) for t, m in content.items() if "example" in m]
                choices += [(t, m) for t, m in content.items() if t in SMALLEST]
                ctype, media = choices[0] if choices else next(iter(content.items()))
                body_schema = media.get("schema", {})
                if "example" in media:
                    value = media["example"]
                elif ctype in SMALLEST:
                    value = SMALLEST[ctype]
                else:
                    value = example(media.get("schema", {}), f"{name} body")
                body = encode(value, ctype)
        except Missing as m:
            failures.append(f"{name}: no example for {m}")
            print(f"FAIL {name}: no example for {m}")
            continue
        url = base + url_path + ("?" + urllib.parse.urlencode(query) if query else "")
        status, raw, got_type = None, b"", ""
        for who, token in creds.items():
            status, raw, got_type = send(url, body, headers, ctype, token)
            if status not in (401, 403):
                break
        documented = op.get("responses", {})
        problem = None
        if status >= 500:
            problem = f"answered {status}"
        elif status >= 400 and status not in (401, 403):
            if str(status) not in documented:
                problem = f"answered {status}, which it does not document"
            elif status in SHAPE_ERRORS:
                code = None
                try:
                    err = json.loads(raw)["error"]
                    code = err["code"] if isinstance(err, dict) else err
                except (ValueError, KeyError, TypeError):
                    pass
                if NEEDS_A_SECRET.get((method, path)) != code and code not in MISSING_DATA:
                    problem = f"refused the document's own example with {status}"
        spec = documented.get(str(status), {}).get("content", {})
        media = spec.get("application/json") if "json" in got_type else None
        if problem is None and media and "schema" in media and raw:
            try:
                errors = sorted(validator(media["schema"]).iter_errors(json.loads(raw)), key=str)
            except ValueError as e:
                errors = [f"not JSON: {e}"]
            if errors:
                first = errors[0]
                where = "/".join(str(x) for x in getattr(first, "absolute_path", []))
                problem = f"{status} body does not match its schema at /{where}: {getattr(first, 'message', first)}"
        if problem is None and status < 500 and status not in (401, 403):
            hidden = hidden_bounds(query, query_schemas, value, body_schema, headers, ctype, token)
            if hidden:
                problem = "enforces a bound the document does not state on " + ", ".join(hidden)
        line = f"{name} -> {status} as {who}"
        if problem:
            detail = raw[:300].decode("utf-8", "replace")
            failures.append(f"{line}: {problem}: {detail}")
            print(f"FAIL {line}: {problem}: {detail}")
        else:
            print(f"ok   {line}")
    print(f"{len(ops) - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
