"""`hazard-snap volunteers import/export`: validation report, all-or-nothing, idempotent by phone, round trips."""
import csv

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from service.core.db import db
from service.core.models import User
from service.volunteers.models import Volunteer
from tests.support.volunteer_fixtures import ROSTER_PHONE_PREFIX, clear_volunteers

HEADER = ["姓名", "手机号", "居村委代码", "服务队", "技能", "标签", "可服务时段", "状态"]


@pytest.fixture
def roster_env(app, owner_engine, accounts):
    yield app
    clear_volunteers(owner_engine)


def rows(accounts, n: int, start: int = 0) -> list[list[str]]:
    code = accounts["staff_a"]["area"]
    return [[f"志愿者{i}", f"{ROSTER_PHONE_PREFIX}{i:08d}", code, "七宝镇志愿服务队", "电工;微型消防站", "楼组长",
             "工作日晚间;周末", "在册"] for i in range(start, start + n)]


def write_csv(path, body, header=HEADER) -> str:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([header, *body])
    return str(path)


def run(app, *args):
    return app.test_cli_runner().invoke(args=["volunteers", *args])  # result.stderr holds the bad-row report


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Volunteer))


def test_import_is_idempotent_by_phone(roster_env, accounts, tmp_path):
    app, body = roster_env, rows(accounts, 5)
    path = write_csv(tmp_path / "roster.csv", body)
    first = run(app, "import", path)
    assert first.exit_code == 0, first.output + first.stderr
    assert "新增 5 人，更新 0 人，未变 0 人" in first.output
    again = run(app, "import", path)
    assert "新增 0 人，更新 0 人，未变 5 人" in again.output
    body[2][3] = "浦江镇志愿服务队"
    changed = run(app, "import", write_csv(tmp_path / "changed.csv", body))
    assert "新增 0 人，更新 1 人，未变 4 人" in changed.output
    with app.app_context():
        v = db.session.scalar(select(Volunteer).join(User, User.id == Volunteer.user_id)
                              .where(User.phone == body[2][1]))
        assert (v.team, v.skills, v.tags, v.availability) == (
            "浦江镇志愿服务队", ["电工", "微型消防站"], ["楼组长"], ["weekday_evening", "weekend"])
        assert v.user.role == "volunteer" and v.user.password_hash is None
        assert v.user.area.code == v.committee_code == accounts["staff_a"]["area"]  # dispatchable like others


def test_a_bad_file_writes_nothing_and_says_where(roster_env, accounts, tmp_path):
    app, body = roster_env, rows(accounts, 4)
    body[1][1] = "12345"
    body[2][1] = body[0][1]
    body[3][2] = "310112999999"
    body[3][6] = "半夜"
    path = write_csv(tmp_path / "bad.csv", body)
    result = run(app, "import", path, "--report", str(tmp_path / "problems.csv"))
    assert result.exit_code == 1 and count(app) == 0
    assert "第 3 行，“手机号”列：手机号应为 11 位中国大陆手机号" in result.stderr
    assert "第 4 行，“手机号”列：手机号与第 2 行重复" in result.stderr
    assert "第 5 行，“居村委代码”列" in result.stderr and "第 5 行，“可服务时段”列" in result.stderr
    assert "未导入任何数据" in result.stderr and "--skip-bad" in result.stderr
    with open(tmp_path / "problems.csv", encoding="utf-8-sig") as f:
        assert [r[:2] for r in csv.reader(f)] == [["行号", "列"], ["3", "手机号"], ["4", "手机号"],
                                                   ["5", "居村委代码"], ["5", "可服务时段"]]
    skipped = run(app, "import", path, "--skip-bad")
    assert skipped.exit_code == 0 and "新增 1 人" in skipped.output and "跳过错误行 3 行" in skipped.output
    assert count(app) == 1


def test_a_staff_phone_is_a_bad_row(roster_env, accounts, tmp_path):
    app, body = roster_env, rows(accounts, 2)
    body[1][1] = accounts["staff_a"]["phone"]
    result = run(app, "import", write_csv(tmp_path / "staff.csv", body))
    assert result.exit_code == 1 and "第 3 行，“手机号”列：该手机号已是工作人员账号" in result.stderr
    assert count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(User.role).where(User.phone == accounts["staff_a"]["phone"])) == \
            "committee_staff"


def test_missing_columns_and_formulas_are_refused(roster_env, accounts, tmp_path):
    app = roster_env
    result = run(app, "import", write_csv(tmp_path / "cols.csv", [["张三"]], header=["姓名"]))
    assert result.exit_code != 0 and "缺少必填列：手机号、居村委代码" in result.stderr
    body = rows(accounts, 1)
    body[0][0] = "=HYPERLINK(\"http://x\")"
    formula = run(app, "import", write_csv(tmp_path / "formula.csv", body))
    assert formula.exit_code == 1 and "不能以 =、+、-、@ 开头" in formula.stderr


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_export_round_trips(roster_env, accounts, tmp_path, suffix):
    app, body = roster_env, rows(accounts, 3)
    body[1][7] = "停用"
    body[2][4:7] = ["", "", ""]
    assert run(app, "import", write_csv(tmp_path / "in.csv", body)).exit_code == 0
    out = str(tmp_path / f"out.{suffix}")
    exported = run(app, "export", out)
    assert exported.exit_code == 0 and "已导出 3 名志愿者" in exported.output
    if suffix == "xlsx":
        sheet = load_workbook(out).active
        table = [[c or "" for c in r] for r in sheet.iter_rows(values_only=True)]
    else:
        with open(out, encoding="utf-8-sig") as f:
            table = list(csv.reader(f))
    assert table[0] == HEADER
    assert sorted(table[1:]) == sorted(body)
    again = run(app, "import", out)
    assert "新增 0 人，更新 0 人，未变 3 人" in again.output


def test_xlsx_with_numbers_for_phones_and_codes(roster_env, accounts, tmp_path):
    app, body = roster_env, rows(accounts, 2)
    book = Workbook()
    book.active.append(HEADER)
    for r in body:
        book.active.append([r[0], int(r[1]), int(r[2]), *r[3:]])
    book.save(tmp_path / "numbers.xlsx")
    result = run(app, "import", str(tmp_path / "numbers.xlsx"))
    assert result.exit_code == 0 and "新增 2 人" in result.output


def test_unknown_format_is_refused(roster_env, tmp_path):
    (tmp_path / "roster.txt").write_text("x")
    result = run(roster_env, "import", str(tmp_path / "roster.txt"))
    assert result.exit_code != 0 and ".csv 或 .xlsx" in result.stderr


def test_only_the_required_columns_and_ragged_rows(roster_env, accounts, tmp_path):
    app, code = roster_env, accounts["staff_a"]["area"]
    body = [["李四", "+86 177-0000-0001", code], ["王五", "17700000002", code, "多余的格子", "x"]]
    result = run(app, "import", write_csv(tmp_path / "short.csv", body, header=["姓名", "phone", "居村委代码"]))
    assert result.exit_code == 0 and "新增 2 人" in result.output, result.output + result.stderr
    with app.app_context():
        found = db.session.execute(select(User.phone, Volunteer.team, Volunteer.skills, Volunteer.active)
                                   .join(Volunteer, Volunteer.user_id == User.id).order_by(User.phone)).all()
    assert [tuple(r) for r in found] == [("17700000001", None, [], True), ("17700000002", None, [], True)]
