"""The monthly report (月度通报): GET /dashboard/monthly.pdf and .xlsx and `hazard-snap report monthly`.

The PDF is made by WeasyPrint and read back with pdftotext: every town (or committee) is named, and the ranking
table's counts and the key figures equal plain SQL over the seeded rows; the XLSX twin holds the same figures;
each role gets only its own scope; bad months and towns are refused in Chinese and the command writes no file.
"""
import io
import math
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from service.dashboard import cube
from service.rules.workflow import CLOCK_RUNNING

ZONE = ZoneInfo("Asia/Shanghai")
THIS = datetime.now(ZONE).date().replace(day=1)
LAST = (THIS - timedelta(days=1)).replace(day=1)
RUNNING = ", ".join(f"'{s}'" for s in sorted(CLOCK_RUNNING))
IN_MONTH = ("{col} >= (CAST(:m AS date)::timestamp AT TIME ZONE 'Asia/Shanghai') AND {col} < "
            "((CAST(:m AS date) + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai')")

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")


def _ym(m: date) -> str:
    return m.strftime("%Y-%m")


@pytest.fixture
def month_data(seeded, owner_engine, accounts):  # noqa: F811 (the fixture)
    """The seeded reports, verified when they say (so verification spreads over months), with recurrences,
    residents' ratings, and two campaigns this month: one for the whole district, one for another town."""
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE report SET updated_at = verified_at WHERE status = 'verified'"))
        # A later report of the same committee repeats every third verified report.
        conn.execute(text(
            "WITH v AS (SELECT id, committee_id, row_number() OVER (ORDER BY id) AS k FROM report"
            "             WHERE status = 'verified'),"
            "     l AS (SELECT r.id, v.id AS earlier, row_number() OVER (PARTITION BY v.id ORDER BY r.id) AS n"
            "             FROM v JOIN report r ON r.committee_id = v.committee_id AND r.status = 'submitted'"
            "            WHERE v.k % 3 = 0)"
            " UPDATE report SET recurrence_of = l.earlier FROM l WHERE report.id = l.id AND l.n = 1"))
        conn.execute(text(
            "INSERT INTO report_rating (report_id, stars, created_at)"
            " SELECT id, 1 + abs(hashtext(id::text)) % 5, verified_at FROM report"
            "  WHERE status = 'verified' AND abs(hashtext(id::text)) % 2 = 0"))
        conn.execute(text(
            "INSERT INTO campaign (title, starts_on, ends_on, focus_categories, target_towns, guidance) VALUES"
            " ('月报测试：电动自行车安全月', :first, :last, '{ebike_charging}', '{}', '重点查看楼道充电'),"
            " ('月报测试：别处的活动', :first, :last, '{combustibles}', ARRAY[CAST(:other AS text)], '')"),
            {"first": THIS, "last": THIS + timedelta(days=27), "other": accounts["sup_b"]["area"]})
    yield seeded
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM campaign WHERE title LIKE '月报测试%'"))


def _places(owner_engine, town: str | None, committee: str | None = None) -> dict[str, str]:
    """Code -> name of the current towns, or of the current committees of a town (or one committee)."""
    with owner_engine.connect() as conn:
        if town is None:
            return dict(conn.execute(text(
                "SELECT code, name FROM area WHERE level = 'town'"
                " AND generation = (SELECT max(generation) FROM area WHERE level = 'town')")).all())
        return dict(conn.execute(text(
            "SELECT c.code, c.name FROM area c JOIN area t ON t.id = c.parent_id WHERE c.level = 'committee'"
            " AND c.generation = (SELECT max(generation) FROM area WHERE level = 'committee') AND t.code = :town"
            " AND (CAST(:committee AS text) IS NULL OR c.code = :committee)"), {"town": town, "committee": committee}
        ).all())


def _plain(owner_engine, level: str, month: date, now: datetime, where: str = "", **params) -> dict[str, dict]:
    """Per place code, by plain SQL: new, rectified on time and overdue of the reports created in the month;
    verified, recurred and the ratings of the reports verified in the month."""
    place = "t" if level == "town" else "c"
    with owner_engine.connect() as conn:
        made = conn.execute(text(
            f"SELECT {place}.code, count(*), count(*) FILTER (WHERE r.rectified_at <= r.due_at),"
            f" count(*) FILTER (WHERE r.status IN ({RUNNING}) AND r.due_at < :now),"
            " count(*) FILTER (WHERE r.rectified_at > r.due_at),"
            " array_agg(extract(epoch FROM r.rectified_at - r.created_at) / 3600)"
            "  FILTER (WHERE r.rectified_at IS NOT NULL)"
            " FROM report r JOIN area c ON c.id = r.committee_id JOIN area t ON t.id = r.town_id"
            f" WHERE {IN_MONTH.format(col='r.created_at')} {where} GROUP BY 1"), {"m": month, "now": now, **params})
        done = conn.execute(text(
            f"SELECT {place}.code, count(*), count(*) FILTER (WHERE r.recurred), count(g.stars), sum(g.stars)"
            " FROM report r JOIN area c ON c.id = r.committee_id JOIN area t ON t.id = r.town_id"
            " LEFT JOIN report_rating g ON g.report_id = r.id"
            f" WHERE r.status = 'verified' AND {IN_MONTH.format(col='r.updated_at')} {where} GROUP BY 1"),
            {"m": month, **params})
        found: dict[str, dict] = {}
        for code, n, on_time, overdue, late, hours in made:
            found[code] = {"new": n, "rectified_on_time": on_time, "overdue": overdue, "late": late,
                           "hours": [float(h) for h in hours or ()]}
        for code, verified, recurred, ratings, stars in done:
            found.setdefault(code, {}).update(verified=verified, recurred=recurred, ratings=ratings, star_sum=stars,
                                              stars=round(stars / ratings, 2) if ratings else None)
    return found


def _total(per: dict[str, dict]) -> dict:
    keys = ("new", "rectified_on_time", "overdue", "late", "verified", "recurred", "ratings")
    total = {k: sum(p.get(k, 0) for p in per.values()) for k in keys}
    total["hours"] = sorted(h for p in per.values() for h in p.get("hours", ()))
    judged = total["rectified_on_time"] + total["late"] + total["overdue"]
    total["rate"] = f"{total['rectified_on_time'] / judged * 100:.1f}%" if judged else "—"
    stars = sum(p["star_sum"] for p in per.values() if p.get("ratings"))  # the exact sum, not rounded means
    total["stars"] = round(stars / total["ratings"], 2) if total["ratings"] else None
    return total


def _near_median(shown: str, hours: list[float]) -> bool:
    """The printed median (one decimal) lies in the histogram bucket of the exact nearest-rank one (cube.py)."""
    if not hours:
        return shown == "—"
    exact = hours[math.ceil(0.5 * len(hours)) - 1]
    b = next(i for i, edge in enumerate(cube.EDGES + [math.inf]) if exact < edge)
    return cube.EDGES[b - 1] - 0.05 <= float(shown) <= cube.EDGES[min(b, len(cube.EDGES) - 1)] + 0.05


def pdf_text(body: bytes) -> str:
    assert body[:5] == b"%PDF-"
    args = ["pdftotext", "-enc", "UTF-8", "-layout", "-", "-"]
    return subprocess.run(args, input=body, capture_output=True, check=True).stdout.decode()


def ranking_rows(txt: str, names: dict[str, str]) -> dict[str, tuple[int, ...]]:
    """Each place's row of the ranking table: new, rectified on time, overdue, (rate), recurred."""
    rows = {}
    for code, name in names.items():
        found = re.findall(rf"(?:^|\s){re.escape(name)}\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+(?:[\d.]+%|—)\s+([\d,]+)"
                           rf"\s+([\d.]+|—)", txt, re.M)
        assert len(found) == 1, (name, found)
        new, on_time, overdue, recurred, stars = found[0]
        rows[code] = (*(int(v.replace(",", "")) for v in (new, on_time, overdue, recurred)),
                      None if stars == "—" else float(stars))
    return rows


LABELS = ("新增隐患", "按期整改", "逾期未改", "整改后复发", "按期整改率", "整改用时中位数（小时）", "核查结案",
          "复发率", "居民评价（星）")


def figures(txt: str) -> dict[str, tuple[str, str]]:
    """The key figures' values and last month's, from the layout text: a line of labels, then a line of values,
    then a line of 上月 ... · 变化 ... in the same columns."""
    lines = [line.strip() for line in txt.splitlines() if line.strip()]
    found = {}
    for i, line in enumerate(lines):
        labels = re.split(r"\s{2,}", line)
        if set(labels) <= set(LABELS):
            values, lasts = re.split(r"\s{2,}", lines[i + 1]), re.findall(r"上月 (\S+) ·", lines[i + 2])
            found |= dict(zip(labels, zip(values, lasts, strict=True), strict=True))
    assert set(found) == set(LABELS), found
    return found


def _expected_rows(per: dict[str, dict], names: dict[str, str]) -> dict[str, tuple]:
    return {code: (per.get(code, {}).get("new", 0), per.get(code, {}).get("rectified_on_time", 0),
                   per.get(code, {}).get("overdue", 0), per.get(code, {}).get("recurred", 0),
                   per.get(code, {}).get("stars")) for code in names}


@pytest.mark.parametrize("month", [LAST, THIS], ids=["last_month", "this_month"])
def test_the_district_report_names_every_town_and_counts_as_sql(month_data, clock, http, owner_engine, month):
    now = datetime.now(UTC)
    got = http.get(f"/dashboard/monthly.pdf?month={_ym(month)}")
    assert got.status_code == 200, got.text[:500]
    assert got.headers["Content-Type"] == "application/pdf"
    assert f"monthly-{_ym(month)}.pdf" in got.headers["Content-Disposition"]
    towns = _places(owner_engine, None)
    per = _plain(owner_engine, "town", month, now)
    assert sum(p.get("new", 0) for p in per.values()) > 0 and any(p.get("recurred") for p in per.values())
    txt = pdf_text(got.content)
    assert ranking_rows(txt, towns) == _expected_rows(per, towns)
    total, before = _total(per), _total(_plain(owner_engine, "town", (month - timedelta(days=1)).replace(day=1), now))
    shown = figures(txt)
    for label, key in (("新增隐患", "new"), ("按期整改", "rectified_on_time"), ("逾期未改", "overdue"),
                       ("整改后复发", "recurred"), ("核查结案", "verified")):
        assert shown[label] == (f"{total[key]:,}", f"{before[key]:,}"), label
    assert shown["按期整改率"] == (total["rate"], before["rate"])
    assert _near_median(shown["整改用时中位数（小时）"][0], total["hours"])
    assert shown["居民评价（星）"] == tuple(f"{v['stars']:.2f}" if v["stars"] is not None else "—"
                                      for v in (total, before))
    assert "全区" in txt and "测试admin" in txt and "区级管理员" in txt  # whose report, who made it
    assert re.search(r"第 1 页，共 \d+ 页", txt)
    made = now.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
    assert made in txt
    if month == THIS:  # the campaign of the month, the whole district's
        assert "月报测试：电动自行车安全月" in txt and "月报测试：别处的活动" in txt
    else:
        assert "本月没有主题活动" in txt


def test_the_fonts_are_embedded_and_the_page_is_a4(month_data, http):
    body = http.get(f"/dashboard/monthly.pdf?month={_ym(LAST)}").content
    fonts = subprocess.run(["pdffonts", "-"], input=body, capture_output=True, check=True).stdout.decode()
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # emb column
    info = subprocess.run(["pdfinfo", "-"], input=body, capture_output=True, check=True).stdout.decode()
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info


def test_the_oldest_overdue_are_listed_oldest_first(month_data, clock, http, owner_engine):
    now = datetime.now(UTC)
    with owner_engine.connect() as conn:
        oldest = list(conn.scalars(text(
            f"SELECT left(id::text, 8) FROM report WHERE status IN ({RUNNING}) AND due_at < :now"
            " ORDER BY due_at, id LIMIT 10"), {"now": now}))
    txt = pdf_text(http.get(f"/dashboard/monthly.pdf?month={_ym(THIS)}").content)
    shown = [m for m in re.findall(r"^\s*([0-9a-f]{8})\s", txt, re.M)]
    assert len(oldest) == 10 and shown == oldest


def test_a_town_report_ranks_every_committee_of_the_town(month_data, clock, as_user, accounts, owner_engine):
    now = datetime.now(UTC)
    town = accounts["sup_a"]["area"]
    names = _places(owner_engine, town)
    where = "AND t.code = :town"
    for who, query in (("sup_a", ""), ("admin", f"&town={town}")):
        got = as_user(who).get(f"/dashboard/monthly.pdf?month={_ym(LAST)}{query}")
        assert got.status_code == 200, got.text[:300]
        txt = pdf_text(got.content)
        assert ranking_rows(txt, names) == _expected_rows(_plain(owner_engine, "committee", LAST, now, where,
                                                                  town=town), names)
    this = pdf_text(as_user("sup_a").get(f"/dashboard/monthly.pdf?month={_ym(THIS)}").content)
    assert "月报测试：电动自行车安全月" in this and "月报测试：别处的活动" not in this  # not their town's


def test_a_committee_sees_only_its_own_committee(month_data, clock, as_user, accounts, owner_engine):
    now = datetime.now(UTC)
    committee, town = accounts["staff_a"]["area"], accounts["sup_a"]["area"]
    names = _places(owner_engine, town, committee)
    got = as_user("staff_a").get(f"/dashboard/monthly.pdf?month={_ym(LAST)}")
    assert got.status_code == 200
    txt = pdf_text(got.content)
    expected = _plain(owner_engine, "committee", LAST, now, "AND c.code = :c", c=committee)
    assert ranking_rows(txt, names) == _expected_rows(expected, names)
    others = set(_places(owner_engine, town).values()) - set(names.values())
    assert not [n for n in others if n in txt]  # no sibling committee is named
    assert as_user("staff_a").get(f"/dashboard/monthly.pdf?month={_ym(LAST)}&town={town}").status_code == 200


def test_scope_and_bad_input_are_refused_in_chinese(month_data, as_user, accounts, anon_http):
    other = accounts["sup_b"]["area"]
    sup = as_user("sup_a")
    refused = sup.get(f"/dashboard/monthly.pdf?month={_ym(LAST)}&town={other}",
                      headers={"Accept": "application/json"})
    assert refused.status_code == 403 and "本辖区" in refused.json()["error"]["message"]
    assert as_user("staff_a").get(f"/dashboard/monthly.xlsx?month={_ym(LAST)}&town={other}").status_code == 403
    missing = as_user("admin").get(f"/dashboard/monthly.pdf?month={_ym(LAST)}&town=999999999",
                                   headers={"Accept": "application/json"})
    assert missing.status_code == 404 and "找不到街镇" in missing.json()["error"]["message"]
    for bad in ("", "2026-13", "2026-1", "abcd-ef", "1999-12", _ym(THIS + timedelta(days=40)), "2026-01-01"):
        got = sup.get(f"/dashboard/monthly.pdf?month={bad}", headers={"Accept": "application/json"})
        assert got.status_code == 422, bad
        assert "month" in got.json()["error"]["message"] and "月" in got.json()["error"]["message"]
    assert as_user("vol").get(f"/dashboard/monthly.pdf?month={_ym(LAST)}").status_code == 403
    assert anon_http.get(f"/dashboard/monthly.pdf?month={_ym(LAST)}", allow_redirects=False).status_code in (302, 401)


def test_the_xlsx_twin_holds_the_same_figures(month_data, clock, http, owner_engine):
    now = datetime.now(UTC)
    got = http.get(f"/dashboard/monthly.xlsx?month={_ym(LAST)}")
    assert got.status_code == 200 and got.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(got.content), read_only=True)
    assert book.sheetnames == ["概况", "考核排名", "月度趋势", "最久逾期", "主题活动", "转派与热线"]
    towns = _places(owner_engine, None)
    per = _plain(owner_engine, "town", LAST, now)
    ranked = list(book["考核排名"].iter_rows(min_row=4, values_only=True))
    assert {r[1]: r[2] for r in ranked} == towns
    assert {r[1]: (r[3], r[4], r[5], r[9], r[10]) for r in ranked} == _expected_rows(per, towns)
    figures = {r[0]: r[1:] for r in book["概况"].iter_rows(min_row=4, values_only=True)}
    total = _total(per)
    assert figures["新增隐患"][0] == total["new"] and figures["逾期未改"][0] == total["overdue"]
    assert figures["整改后复发"][0] == total["recurred"] and figures["居民评价（星）"][0] == total["stars"]
    # The PDF of the same month prints the same ranking.
    assert ranking_rows(pdf_text(http.get(f"/dashboard/monthly.pdf?month={_ym(LAST)}").content), towns) == {
        r[1]: (r[3], r[4], r[5], r[9], r[10]) for r in ranked}


def test_the_command_writes_a_pdf_or_xlsx_and_nothing_on_bad_input(month_data, clock, app, accounts, owner_engine,
                                                                   tmp_path):
    now = datetime.now(UTC)
    runner = app.test_cli_runner()
    town = accounts["sup_a"]["area"]
    out = tmp_path / "town.pdf"
    done = runner.invoke(args=["report", "monthly", "--month", _ym(LAST), "--town", town, "--out", str(out)])
    assert done.exit_code == 0, done.output
    names = _places(owner_engine, town)
    assert ranking_rows(pdf_text(out.read_bytes()), names) == _expected_rows(
        _plain(owner_engine, "committee", LAST, now, "AND t.code = :town", town=town), names)
    assert "命令行" in pdf_text(out.read_bytes())
    sheet = tmp_path / "district.xlsx"
    done = runner.invoke(args=["report", "monthly", "--month", _ym(LAST), "--out", str(sheet),
                               "--as", accounts["sup_b"]["phone"]])
    assert done.exit_code == 0, done.output
    ranked = list(load_workbook(sheet, read_only=True)["考核排名"].iter_rows(min_row=4, values_only=True))
    assert [r[2] for r in ranked] == list(_places(owner_engine, accounts["sup_b"]["area"]).values()) or {
        r[1] for r in ranked} == set(_places(owner_engine, accounts["sup_b"]["area"]))
    for args in (["--month", "2026-13"], ["--month", _ym(LAST), "--town", "999999999"],
                 ["--month", _ym(LAST), "--town", town, "--as", accounts["sup_b"]["phone"]]):
        bad = tmp_path / "bad.pdf"
        failed = runner.invoke(args=["report", "monthly", *args, "--out", str(bad)])
        assert failed.exit_code != 0 and not bad.exists() and not list(tmp_path.glob("*.part")), failed.output
    wrong = runner.invoke(args=["report", "monthly", "--month", _ym(LAST), "--out", str(tmp_path / "x.docx")])
    assert wrong.exit_code != 0 and ".pdf" in wrong.output


def test_english_is_a_switch(month_data, http):
    txt = pdf_text(http.get(f"/dashboard/monthly.pdf?month={_ym(LAST)}&lang=en").content)
    assert "Ranking" in txt and "New hazards" in txt and "Page 1 of" in txt
    assert "考核排名" not in txt


def test_the_figures_take_as_many_statements_for_12_towns_as_for_40_committees(month_data, app, accounts):
    """No statement per place: the district's report and a town's run the same statements."""
    from sqlalchemy import event

    from service.core.db import db
    from service.core.models import User
    from service.dashboard import monthly

    counts = {}
    with app.test_request_context("/"):
        for who in ("admin", "sup_a"):
            user = db.session.get(User, accounts[who]["id"])
            req = monthly.check(user, LAST, "")
            seen: list[str] = []

            def listen(*args, seen=seen):
                seen.append(args[2])  # the statement
            event.listen(db.engine, "before_cursor_execute", listen)
            try:
                data = monthly.build(req, datetime.now(UTC))
            finally:
                event.remove(db.engine, "before_cursor_execute", listen)
            counts[who] = (len(seen), len(data["ranking"]))
        db.session.rollback()
    assert counts["admin"][1] >= 10 and counts["sup_a"][1] >= 30
    assert counts["admin"][0] == counts["sup_a"][0] < 40, counts
