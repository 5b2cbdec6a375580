"""Contacts kept only as long as needed (service/privacy/retention.py): CONTACT_RETENTION_DAYS after a report
closed, `hazard-snap privacy sweep` erases the resident's contact everywhere the report kept it, with an event; the
receipt link and the rating keep working; a second run erases nothing; two sweepers at once erase each report once."""
import threading

from sqlalchemy import text

from service.core.db import db
from service.privacy import retention
from tests.support.receipts import confirm, csrf, notices, sent, track_path
from tests.support.workflow_api import walk

PHONE = "13812345678"
FIXED = ["accepted", "dispatched", "rectifying", "rectified", "verified"]


def _closed_days_ago(owner_engine, report_id: str, days: int) -> None:
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE report SET updated_at = now() - make_interval(days => :d) WHERE id = :id"),
                     {"d": days, "id": report_id})


def _held(owner_engine, report_id: str) -> dict:
    """Every place the report keeps its resident's address, as the database has it."""
    with owner_engine.connect() as conn:
        row = conn.execute(text("""
            SELECT r.contact, rr.notify_target, r.updated_at,
                   (SELECT array_agg(target ORDER BY id) FROM contact_code WHERE report_id = r.id) AS codes,
                   (SELECT array_agg(n.target ORDER BY n.id) FROM notification n
                     WHERE n.channel IN ('sms', 'email') AND (n.event_id IN (SELECT id FROM report_event
                                                                            WHERE report_id = r.id)
                        OR n.contact_code_id IN (SELECT id FROM contact_code WHERE report_id = r.id))) AS sent,
                   (SELECT count(*) FROM report_event WHERE report_id = r.id AND kind = 'contact_erased') AS erased
              FROM report r LEFT JOIN report_receipt rr ON rr.report_id = r.id WHERE r.id = :id"""),
                           {"id": report_id}).one()
    return row._asdict()


def _verified_with_updates(anon_http, as_user, app, spot) -> dict:
    body = sent(anon_http, spot, contact=f"电话 {PHONE}")
    if any("验证码" in m for _c, _t, m in notices(app, body["id"])):  # an address confirmed once is not asked again
        confirm(anon_http, app, body)
    walk(as_user, body["id"], FIXED)
    return body


def test_a_contact_past_its_retention_is_erased_everywhere_and_the_receipt_still_works(
        app, anon_http, as_user, spot, owner_engine):
    old = _verified_with_updates(anon_http, as_user, app, spot)
    recent = _verified_with_updates(anon_http, as_user, app, spot)
    still_open = sent(anon_http, spot, contact=f"电话 {PHONE}")
    days = app.config["CONTACT_RETENTION_DAYS"]
    _closed_days_ago(owner_engine, old["id"], days + 1)
    _closed_days_ago(owner_engine, recent["id"], days - 1)
    before = _held(owner_engine, old["id"])
    assert PHONE in before["contact"] and before["notify_target"] == PHONE and PHONE in before["codes"]
    assert len([t for _c, t, _m in notices(app, old["id"]) if t == PHONE]) >= 2  # the code and the updates

    out = app.test_cli_runner().invoke(args=["privacy", "sweep"])
    assert out.exit_code == 0 and "erased the contacts of 1 reports" in out.output, out.output
    after = _held(owner_engine, old["id"])
    assert after["contact"] is None and after["notify_target"] is None
    assert set(after["codes"]) == {""} and set(after["sent"]) == {""} and after["erased"] == 1
    assert after["updated_at"] == before["updated_at"]  # still the closing time (the recurrence figures read it)
    for kept in (recent["id"], still_open["id"]):
        assert _held(owner_engine, kept)["contact"] is not None and _held(owner_engine, kept)["erased"] == 0

    path = track_path(old)  # the receipt link and the rating keep working
    page = anon_http.get(path)
    assert page.status_code == 200 and old["receipt"]["number"] in page.text and PHONE not in page.text
    rated = anon_http.post(path + "/rating", data={"csrf_token": csrf(anon_http, path), "stars": "5"})
    assert rated.status_code == 200
    detail = as_user("sup_a").get(f"/reports/{old['id']}").text
    assert "联系方式已按保存期限删除" in detail and PHONE not in detail

    again = app.test_cli_runner().invoke(args=["privacy", "sweep"])
    assert "erased the contacts of 0 reports" in again.output and _held(owner_engine, old["id"])["erased"] == 1


def test_two_sweepers_at_once_erase_each_report_once(app, anon_http, as_user, spot, owner_engine, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches each, so the two really interleave
    made = [sent(anon_http, spot, contact=f"电话 {PHONE}")["id"] for _ in range(7)]
    for rid in made:
        walk(as_user, rid, ["rejected"])
        _closed_days_ago(owner_engine, rid, app.config["CONTACT_RETENTION_DAYS"] + 5)
    counts, start = [], threading.Barrier(2)

    def sweeper():
        with app.app_context():
            start.wait()
            counts.append(retention.sweep())
            db.session.remove()
    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(counts) == len(made)
    assert all(_held(owner_engine, rid)["erased"] == 1 and _held(owner_engine, rid)["contact"] is None
               for rid in made)
