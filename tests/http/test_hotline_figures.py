"""Figures for the bodies outside the programme and the 12345 hotline (issue 24): per body, transferred, signed for
in time, finished in time, returned and the median hours to the end; for the hotline, orders, signed and replied in
time, returned, unreplied past the deadline, call-back reach and satisfaction. Counted exactly over a known small
set (tests/support/hotline_figures.py), on the dashboard (page and GET /api/v1/stats) and in the monthly report,
each only in the caller's scope."""
import io
import shutil
import subprocess
from datetime import timedelta

from openpyxl import load_workbook


def _hours(u: timedelta, *units: float) -> float:
    return round(sum(units) / len(units) * u.total_seconds() / 3600, 2)


def expected_bodies(known) -> list[dict]:
    u = known["u"]
    return [{"id": known["gas"], "name": "闵行燃气", "kind": "utility", "kind_name": "公用事业单位",
             "transferred": 5, "signed_on_time": 2, "sign_due": 4, "sign_rate": 0.5, "finished": 2,
             "finished_on_time": 1, "returned": 1, "median_hours": _hours(u, 3, 7)},
            {"id": known["estate"], "name": "锦江物业", "kind": "property", "kind_name": "物业",
             "transferred": 1, "signed_on_time": 1, "sign_due": 1, "sign_rate": 1.0, "finished": 1,
             "finished_on_time": 1, "returned": 0, "median_hours": _hours(u, 4)}]


HOTLINE = {"orders": 7, "signed_on_time": 5, "sign_due": 7, "sign_rate": 0.7143, "returned": 1, "replied": 5,
           "replied_on_time": 4, "reply_rate": 0.8, "unreplied_overdue": 1, "verified": 4, "called_back": 3,
           "callback_rate": 0.75, "answered": 3, "satisfied": 1, "basic": 1, "unsatisfied": 1,
           "satisfaction_rate": 0.6667}
NOTHING = {k: 0 for k in HOTLINE} | {k: None for k in ("sign_rate", "reply_rate", "callback_rate",
                                                        "satisfaction_rate")}


def section(session, query: str = "") -> dict:
    r = session.get(f"/api/v1/stats?section=bodies{query}")
    assert r.status_code == 200, r.text
    return r.json()["sections"]["bodies"]


def test_the_figures_are_counted_exactly_for_the_period(known, as_user):
    got = section(as_user("sup_a"), f"&since={known['since']}")
    assert got["bodies"] == expected_bodies(known)
    assert got["hotline"] == HOTLINE
    everything = section(as_user("admin"))  # no days: the whole table, the transfer of last month too
    assert [b["transferred"] for b in everything["bodies"]] == [6, 1]
    assert everything["hotline"] == HOTLINE


def test_each_caller_sees_only_their_scope(known, as_user):
    for who in ("admin", "sup_a", "staff_a"):
        got = section(as_user(who), f"&since={known['since']}")
        assert got["bodies"] == expected_bodies(known) and got["hotline"] == HOTLINE, who
    for who in ("sup_b", "staff_sibling"):
        got = section(as_user(who))
        assert got["bodies"] == [] and got["hotline"] == NOTHING, who
    page = as_user("sup_b").get("/dashboard")
    assert page.status_code == 200
    assert "本期无转派" in page.text and "本期无热线工单" in page.text
    assert "闵行燃气" not in page.text


def test_the_dashboard_shows_the_section(known, as_user):
    page = as_user("sup_a").get(f"/dashboard?since={known['since']}").text
    assert 'id="section-bodies"' in page and "转派单位与12345热线" in page
    row = f'<tr data-body="{known["gas"]}"><th scope="row">闵行燃气 <span class="hint">公用事业单位</span></th>'
    assert row in page
    assert '<td data-figure="sign_rate">50.0%</td>' in page
    for figure, shown in (("orders", "7"), ("sign_rate", "71.4%"), ("returned", "1"), ("reply_rate", "80.0%"),
                          ("unreplied_overdue", "1"), ("callback_rate", "75.0%"), ("satisfaction_rate", "66.7%"),
                          ("unsatisfied", "1")):
        assert f'<dd data-figure="{figure}">{shown}</dd>' in page, figure
    assert "本期无转派" not in page and "本期无热线工单" not in page
    english = as_user("sup_a").get(f"/dashboard?since={known['since']}&lang=en").text
    assert "Hotline 12345 orders" in english and "转派单位与12345热线" not in english


def test_the_monthly_report_has_the_section(known, as_user):
    sup = as_user("sup_a")
    book = load_workbook(io.BytesIO(sup.get(f"/dashboard/monthly.xlsx?month={known['month']}").content))
    rows = [list(r) for r in book["转派与热线"].iter_rows(min_row=4, values_only=True)]
    gas, estate = expected_bodies(known)
    assert rows[0][:7] == ["闵行燃气", 5, 2, 0.5, 1, 1, gas["median_hours"]]  # last month's transfer left out
    assert rows[1][:7] == ["锦江物业", 1, 1, 1.0, 1, 0, estate["median_hours"]]
    assert rows[-1] == [7, 0.7143, 1, 0.8, 1, 0.75, 0.6667, 1]
    if shutil.which("pdftotext") is None:
        return
    body = sup.get(f"/dashboard/monthly.pdf?month={known['month']}").content
    txt = subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", "-", "-"], input=body, capture_output=True,
                         check=True).stdout.decode()
    assert "六、转派单位与12345热线" in txt
    assert "闵行燃气" in txt and "50.0%" in txt and "71.4%" in txt and "66.7%" in txt
    other = as_user("sup_b").get(f"/dashboard/monthly.pdf?month={known['month']}").content
    txt = subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", "-", "-"], input=other, capture_output=True,
                         check=True).stdout.decode()
    assert "本期无转派" in txt and "本期无热线工单" in txt and "闵行燃气" not in txt
