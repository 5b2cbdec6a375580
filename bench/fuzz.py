"""Fuzz every endpoint: N generated requests, none may be answered with a 5xx.

Half come from the OpenAPI description (schemathesis: valid and invalid inputs for every /api/v1 operation), half
from the URL map itself, so pages, tiles, photos, Open311, tracking links and the metrics endpoint are hit too:
each rule with generated path values (real ids half of the time), query strings, form, JSON or raw bodies, as
nobody, a volunteer, committee staff, a town supervisor or a district admin. Through the WSGI app, in process.

Full form: `.venv/bin/python -m bench.fuzz --requests 10000` (a scratch cluster of its own, like bench/chaos.py);
tests/http/test_fuzz.py runs a short one on the test database.
"""
import argparse
import base64
import io
import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.support.images import jpeg

WORDS = ["", "0", "-1", "1", "2", "99999999999999999999", "1e309", "NaN", "null", "true", "[]", "{}", "闵行区",
         "<script>alert(1)</script>", "{{7*7}}", "../../etc/passwd", "%00", "2026-02-30", "2026-11-30",
         "121.4,31.1,121.5,31.2", "open", "all", "closed", "submitted", "accepted", "combustibles", "major",
         "x" * 3000, "310112", "310112102", "a,b,,c", " ", "\u202e", "😀", "-0", "0x10", "1,2"]
# Crafted keyset cursors (service/core/cursors.py): base64 JSON of the right shape with values out of range.
CURSORS = [base64.urlsafe_b64encode(json.dumps(v).encode()).decode() for v in (
    [0, "1e1000000", "hazard", "x"], ["0", "1e1000000", "hazard", "x"], ["0", "-1e400", "order", "1"],
    ["99999-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"], ["2026-01-01T00:00:00", "1"],
    ["2026-01-01T00:00:00+00:00", "99999999999999999999999"], ["2026-02-30", "1"], ["a\u0000", "1"],
    ["名称", "99999999999999999999"], [], [None], {"a": 1})]
WORDS = WORDS + CURSORS
QUERY_KEYS = ["status", "category", "risk", "since", "until", "committee", "town", "bbox", "overdue", "cursor",
              "limit", "lang", "next", "z", "section", "q", "site", "from", "to", "team", "format", "page"]
FORM_KEYS = ["category", "description", "lon", "lat", "crs", "accuracy_m", "client_report_id", "to", "note",
             "risk_level", "committee", "phone", "password", "csrf_token", "rating", "comment", "name", "kind",
             "address", "contact", "service_code", "api_key", "duplicate_of", "hours", "ids", "reason"]
PARAM = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
CALLERS = (None, "vol", "staff_a", "sup_a", "admin")


def _value(conv: str | None, args: str | None, name: str, real: dict):
    if conv == "any":
        return st.sampled_from([a.strip() for a in args.split(",")])
    if conv == "int":
        return st.one_of(st.integers(0, 30), st.integers(0, 2**40)).map(str)
    known = [v for k, v in real.items() if k in name or name in k]
    return st.one_of(st.sampled_from(known or ["x"]), st.sampled_from(WORDS), st.text(max_size=40))


def url_requests(app, real: dict):
    """(method, path, query, body kwargs, caller) for every rule of the URL map."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]

    def for_rule(rule):
        parts = []
        for m in PARAM.finditer(rule.rule):
            parts.append(_value(m.group("conv"), m.group("args"), m.group("name"), real))
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})

        def build(drawn):
            values, method, query, body, caller = drawn
            it = iter(values)
            path = PARAM.sub(lambda m: quote(next(it), safe="") or "x", rule.rule)
            return method, path, query, body, caller

        return st.tuples(st.tuples(*parts), st.sampled_from(methods), queries, bodies, st.sampled_from(CALLERS)) \
            .map(build)

    queries = st.dictionaries(st.one_of(st.sampled_from(QUERY_KEYS), st.text(max_size=8)),
                              st.one_of(st.sampled_from(WORDS), st.text(max_size=30)), max_size=4)
    photo = st.one_of(st.just(jpeg()), st.binary(max_size=2000))
    form = st.dictionaries(st.one_of(st.sampled_from(FORM_KEYS), st.text(max_size=8)),
                           st.one_of(st.sampled_from(WORDS), st.text(max_size=60)), max_size=8)
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                               lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                                   st.one_of(st.sampled_from(FORM_KEYS), st.text(max_size=8)), inner, max_size=4),
                               max_leaves=10)
    bodies = st.one_of(
        st.just({}),
        st.tuples(form, st.lists(photo, max_size=3)).map(lambda fp: {"data": {
            **fp[0], "photo": [(io.BytesIO(b), "p.jpg") for b in fp[1]]}, "content_type": "multipart/form-data"}),
        form.map(lambda f: {"data": f}),
        json_values.map(lambda j: {"json": j}),
        st.tuples(st.binary(max_size=500), st.sampled_from(["application/json", "text/xml", "application/x-www-"
                                                            "form-urlencoded", "multipart/form-data"])).map(
            lambda bc: {"data": bc[0], "content_type": bc[1]}),
    )
    return st.one_of(*[for_rule(r) for r in rules])


def api_cases(app, real: dict):
    """schemathesis cases of every /api/v1 operation, valid and invalid, with real ids half of the time."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    strategies = []
    for result in schema.get_all_operations():
        op = result.ok()
        names = [n for n in real if f"{{{n}}}" in op.path]

        def with_real(drawn, names=names):
            case, use_real = drawn
            if use_real:
                for name in names:
                    case.path_parameters[name] = real[name]
            return case

        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(st.tuples(op.as_strategy(mode), st.booleans()).map(with_real))
    return st.tuples(st.one_of(*strategies), st.sampled_from(CALLERS))


def fuzz(app, tokens: dict, real: dict, requests: int) -> tuple[Counter, list[str]]:
    """Send `requests` generated requests; return the count of each status and a line per 5xx (or crash)."""
    client, statuses, failures = app.test_client(), Counter(), []

    def headers(caller):
        return {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}

    @given(drawn=st.one_of(url_requests(app, real).map(lambda r: ("url", r)),
                           api_cases(app, real).map(lambda c: ("api", c))))
    @settings(max_examples=requests, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    def one(drawn):
        kind, item = drawn
        try:
            if kind == "url":
                method, path, query, body, caller = item
                label = f"{method} {path}?{query}"
                status = client.open(path, method=method, query_string=query, headers=headers(caller),
                                     **body).status_code
            else:
                case, caller = item
                label = f"{case.method} {case.formatted_path} {case.query}"
                status = case.call(headers=headers(caller)).status_code
        except Exception as e:  # noqa: BLE001 - a crash is a failure to show, not to stop on
            statuses["crash"] += 1
            failures.append(f"crash {label}: {type(e).__name__}: {e}"[:300])
            return
        statuses[status] += 1
        if status >= 500:
            failures.append(f"{status} {label}"[:300])

    one()
    return statuses, failures


def main(argv: list[str] | None = None) -> int:
    from bench import chaos
    from service import create_app

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=10_000)
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hazard-fuzz-"))
    cluster = chaos.Cluster(work / "pg")
    try:
        cluster.pg("start")
        env, points = chaos.prepare(*cluster.urls(), work / "photos")
        tokens = {}
        for i, (name, role) in enumerate((("vol", "volunteer"), ("staff_a", "committee_staff"),
                                           ("sup_a", "town_supervisor"), ("admin", "district_admin"))):
            area = [] if role in ("volunteer", "district_admin") else ["--area", _area(cluster, role)]
            out = chaos.cli(env, "users", "create", "--name", name, "--phone", f"1380000{i:04d}", "--role", role,
                            *area, "--token")
            tokens[name] = out.split("token: ")[1].strip()
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": cluster.urls()[1],
                          "DATABASE_OWNER_URL": cluster.urls()[0], "PHOTO_DIR": env["PHOTO_DIR"],
                          "PUBLIC_REPORTS_PER_HOUR": 10**9, "PUBLIC_REPORTS_PER_MINUTE": 10**9})
        client = app.test_client()
        created = client.post("/api/v1/reports", headers={"Authorization": f"Bearer {tokens['admin']}"}, data={
            "category": "combustibles", "lon": str(points[0][0]), "lat": str(points[0][1]),
            "photo": (io.BytesIO(jpeg()), "a.jpg")}, content_type="multipart/form-data").get_json()
        real = {"report_id": created["id"], "key": created["photos"][0].removeprefix("/photos/")}
        statuses, failures = fuzz(app, tokens, real, args.requests)
    finally:
        cluster.pg("stop")
        shutil.rmtree(work, ignore_errors=True)
    print(f"fuzz: {sum(statuses.values())} requests; statuses {dict(sorted(statuses.items(), key=str))}")
    print(f"5xx or crashes: {len(failures)}")
    for line in failures[:50]:
        print("  " + line)
    return 1 if failures else 0


def _area(cluster, role: str) -> str:
    import psycopg

    level = "committee" if role == "committee_staff" else "town"
    with psycopg.connect(cluster.urls()[0].replace("+psycopg", "")) as conn:
        return conn.execute("SELECT min(code) FROM area WHERE level = %s", (level,)).fetchone()[0]


if __name__ == "__main__":
    sys.exit(main())
