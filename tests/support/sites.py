"""Helpers first written for tests/http/test_sites.py, now shared by several test modules."""
import csv

import pytest
from sqlalchemy import select, text

from service.core.db import db
from service.sites.models import Site

HEADER = ["编号", "类型", "名称", "地址", "经度", "纬度", "几何", "联系方式", "风险等级"]


METRE_LAT = 1 / 111_320


@pytest.fixture
def sites_env(app, owner_engine):
    yield app
    with owner_engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # report_event refuses TRUNCATE
        conn.execute(text("TRUNCATE site, report, photo, report_event RESTART IDENTITY CASCADE"))


def write_csv(path, body, header=HEADER) -> str:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([header, *body])
    return str(path)


def run(app, *args):
    return app.test_cli_runner().invoke(args=["sites", "import", *args])


def point_row(spot, n: int, kind="医院", risk="中", dy=0.0) -> list[str]:
    return [f"S-{n}", kind, f"场所{n}", f"地址{n}", str(spot["lon"]), str(spot["lat"] + dy * METRE_LAT), "",
            "021-1234567", risk]


def stored(app) -> dict:
    with app.app_context():
        return {s.external_id: s for s in db.session.scalars(select(Site))}


def imported(app, tmp_path, *rows) -> dict:
    result = run(app, write_csv(tmp_path / "s.csv", list(rows)))
    assert result.exit_code == 0, result.output + result.stderr
    return stored(app)

