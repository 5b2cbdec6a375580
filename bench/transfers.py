"""Transfers to a body outside the programme (issue 24): deliveries per second through the outbox to a local
Open311 body, and the time `bodies sync` takes for 10,000 pending updates, each beside a bare baseline measured
in the same run against the same local server:
- delivery: outbox.deliver_due (lock the row, build the form, POST, store service_request_id and deadlines, record
  the attempt, commit) beside the same POSTs sent bare with service.core.outbound (no database);
- sync: sync.sync_body (fetch the pages, then per update: insert its body_update row, lock the transfer's report,
  write the sign-for and its event, commit) beside fetching and parsing the same pages bare.
The transfers are made by the real move (reports.moves.move as a district admin) for the deliveries; for the sync
they are written in SQL (10,000 moves would take minutes and are not what is measured). Asserts nothing.

    .venv/bin/python -m bench.transfers --deliveries 1000 --updates 10000
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bench.assign import database_url, drop_database
from bench.scale import seed, setup
from service.bodies import registry, sync
from service.bodies.models import Transfer
from service.core import outbound
from service.core.db import db
from service.core.models import User
from service.notify import outbox
from service.reports import moves
from service.rules.categories import CATEGORIES

BENCH_DB = "hazard_bench_transfers"


class LocalBody(BaseHTTPRequestHandler):
    """requests.json answers a new service_request_id; servicerequestupdates.json serves `pages` by page."""

    made = 0
    pages: list = []
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        with LocalBody.lock:
            LocalBody.made += 1
            rid = f"MH-{LocalBody.made}"
        self._send(json.dumps([{"service_request_id": rid}]).encode())

    def do_GET(self):  # noqa: N802
        page = int(parse_qs(urlsplit(self.path).query).get("page", ["1"])[0])
        self._send(LocalBody.pages[page - 1] if page <= len(LocalBody.pages) else b"[]")

    def _send(self, data: bytes):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _transfer_by_moves(app, admin_id: int, body_id: int, n: int) -> float:
    with app.app_context():
        ids = db.session.scalars(text("SELECT id FROM report WHERE status = 'submitted' ORDER BY id LIMIT :n"),
                                 {"n": n}).all()
        admin = db.session.get(User, admin_id)
        start = time.perf_counter()
        for rid in ids:
            moves.move(str(rid), "transferred", admin, "bench", form={"body_id": str(body_id)})
        return time.perf_counter() - start, len(ids)


def _transfers_in_sql(app, body_id: int, n: int) -> list[str]:
    """n delivered transfers written directly, their remote ids returned."""
    with app.app_context():
        db.session.execute(text("""
            WITH picked AS (SELECT id, status FROM report WHERE status IN ('submitted', 'accepted', 'dispatched')
                            ORDER BY id LIMIT :n),
            moved AS (UPDATE report SET status = 'transferred' FROM picked WHERE report.id = picked.id
                      RETURNING report.id, picked.status AS was),
            ev AS (INSERT INTO report_event (report_id, kind, from_status, to_status, actor_label, note, data,
                                             created_at)
                   SELECT id, 'transition', was, 'transferred', 'bench', 'bench',
                          jsonb_build_object('body_id', :body, 'body_name', 'bench'), now() FROM moved
                   RETURNING id, report_id)
            INSERT INTO transfer (report_id, body_id, event_id, remote_id, delivered_at, sign_due_at, finish_due_at)
            SELECT report_id, :body, id, 'S-' || id, now() - interval '1 hour', now() + interval '3 hours',
                   now() + interval '47 hours' FROM ev"""), {"n": n, "body": body_id})
        db.session.commit()
        return db.session.scalars(select(Transfer.remote_id).where(Transfer.remote_id.like("S-%"))).all()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=60_000, help="reports seeded first (default %(default)s)")
    args = parser.parse_args(argv)
    url = make_url(database_url(None)).set(database=BENCH_DB).render_as_string(hide_password=False)
    app, _tokens, _source = setup(url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), LocalBody)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}/open311/v2"
    app.config["OUTBOUND_ALLOW_HOSTS"] = frozenset({"127.0.0.1"})
    try:
        print(f"seeded {args.seed:,} reports in {seed(app, args.seed):.1f} s")
        with app.app_context():
            town = db.session.scalar(text("SELECT code FROM area WHERE level = 'town' ORDER BY code LIMIT 1"))
            towns = db.session.scalars(text("SELECT code FROM area WHERE level = 'town'")).all()
            body = registry.add(name="bench body", kind="utility", channel="open311", endpoint=endpoint,
                                categories=list(CATEGORIES), area_codes=towns or [town],
                                jurisdiction_id="bench", credential="k")
            body_id = body.id
            admin_id = db.session.scalar(select(User.id).where(User.role == "district_admin"))
        took, n = _transfer_by_moves(app, admin_id, body_id, args.deliveries)
        print(f"{n:,} transfers by the real move: {n / took:,.0f} moves/s")
        with app.app_context():
            start = time.perf_counter()
            sent, failed = outbox.deliver_due(limit=n + 10)
            ours = time.perf_counter() - start
            form = urlencode({"api_key": "k", "jurisdiction_id": "bench", "service_code": "gas_open_flame",
                              "lat": "31.1", "long": "121.4", "description": "bench", "media_url": ""}).encode()
            start = time.perf_counter()
            for _ in range(sent):
                outbound.request("POST", f"{endpoint}/requests.json", body=form, timeout=10,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
            bare = time.perf_counter() - start
        print(f"delivery: {sent:,} sent ({failed} failed) at {sent / ours:,.0f}/s through the outbox; "
              f"bare POSTs {sent / bare:,.0f}/s; outbox / bare time = {ours / bare:.2f}")

        remote = _transfers_in_sql(app, body_id, args.updates)
        updates = [{"update_id": f"u-{rid}", "service_request_id": rid, "status": "in_progress",
                    "updated_datetime": "2026-12-07T10:00:00+08:00", "description": "已签收"} for rid in remote]
        LocalBody.pages = [json.dumps(updates[i:i + sync.PAGE], ensure_ascii=False).encode()
                           for i in range(0, len(updates), sync.PAGE)]
        with app.app_context():
            start = time.perf_counter()
            for page in range(1, len(LocalBody.pages) + 2):
                json.loads(outbound.request("GET", f"{endpoint}/servicerequestupdates.json?page={page}",
                                            timeout=10, max_bytes=sync.ANSWER_MAX).body)
            bare = time.perf_counter() - start
            start = time.perf_counter()
            counts = sync.sync_body(body_id)
            ours = time.perf_counter() - start
            start = time.perf_counter()
            again = sync.sync_body(body_id)
            replay = time.perf_counter() - start
        print(f"sync: {len(updates):,} pending updates in {ours:.1f} s ({len(updates) / ours:,.0f}/s) {counts}; "
              f"fetching and parsing them bare {bare:.2f} s; sync / bare time = {ours / bare:.1f}")
        print(f"sync again (all seen before): {replay:.1f} s {again}")
    finally:
        server.shutdown()
        drop_database(url)


if __name__ == "__main__":
    main()
