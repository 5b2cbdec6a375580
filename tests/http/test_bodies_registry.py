"""The registry of bodies outside the programme (issue 24): `hazard-snap bodies add|list|disable`, an endpoint
checked before it is stored, a key that nothing shows, and the body suggested for a report."""
import json
import logging

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point, box
from sqlalchemy import func, select

from service.bodies import registry
from service.bodies.models import Body
from service.core.db import db
from service.core.models import Area, Report

KEY = "s3cret-open311-key-4711"
PUBLIC_HTTPS = "https://8.8.8.8/open311/v2"  # an address literal that is public: nothing is resolved or sent


def add(app, *args: str, key: str = KEY):
    return app.test_cli_runner().invoke(args=["bodies", "add", *args], input=f"{key}\n")


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Body))


def open311_args(name: str, areas: str, endpoint: str = PUBLIC_HTTPS, categories: str = "gas_open_flame"):
    return ["--name", name, "--kind", "utility", "--channel", "open311", "--endpoint", endpoint,
            "--jurisdiction", "gas.example", "--categories", categories, "--areas", areas]


def test_an_open311_body_keeps_its_key_out_of_every_output(app, spot, caplog):
    caplog.set_level(logging.DEBUG)
    result = add(app, *open311_args("闵行燃气", spot["town"]), "--sign-hours", "4", "--finish-hours", "48")
    assert result.exit_code == 0, result.output
    assert "added body 1: 闵行燃气 (utility, open311)" in result.output
    listed = app.test_cli_runner().invoke(args=["bodies", "list"])
    assert listed.exit_code == 0 and "闵行燃气" in listed.output and f"\t{spot['town']}\t" in listed.output
    assert "4h/48h" in listed.output
    with app.app_context():
        body = db.session.scalar(select(Body))
        assert body.credential == KEY  # stored for delivery ...
        shown = json.dumps(registry.describe(body), ensure_ascii=False)
    assert KEY not in result.output + listed.output + shown + caplog.text  # ... and shown by nothing
    assert '"has_key": true' in shown


@pytest.mark.parametrize(("endpoint", "why"), [
    ("http://8.8.8.8/open311/v2", "only https"),  # the key would travel in the clear
    ("https://127.0.0.1/open311/v2", "non-public"),
    ("https://10.1.2.3/open311/v2", "non-public"),
    ("https://169.254.169.254/latest", "non-public"),  # the cloud metadata address
    ("file:///etc/passwd", "scheme"),
    ("https://user:pw@8.8.8.8/x", "credentials"),
])
def test_an_endpoint_a_delivery_must_not_reach_is_refused_before_it_is_stored(app, spot, endpoint, why,
                                                                             monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset())
    result = add(app, *open311_args("坏接口", spot["town"], endpoint=endpoint))
    assert result.exit_code != 0
    assert "接口地址不可用" in result.output and why in result.output
    assert count(app) == 0


def test_an_operator_listed_host_may_be_plain_http_on_the_private_network(app, spot, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_HOSTS", frozenset({"127.0.0.1:8311"}))
    assert add(app, *open311_args("区城运中心", spot["town"], endpoint="http://127.0.0.1:8311/open311/v2/")
               ).exit_code == 0
    assert add(app, *open311_args("别的端口", spot["town"], endpoint="http://127.0.0.1:9999/open311/v2")
               ).exit_code != 0  # listed as host:port, so another port is not
    with app.app_context():
        assert db.session.scalar(select(Body.endpoint)) == "http://127.0.0.1:8311/open311/v2"


@pytest.mark.parametrize(("args", "message"), [
    (["--areas", "999999999"], "找不到街镇或居村委代码 999999999"),
    (["--categories", "gas_open_flame,not_a_category"], "请从以下类别中选择受理类别"),
    (["--sign-hours", "48", "--finish-hours", "24"], "办结时限不短于签收时限"),
    (["--areas", ""], "请填写该单位负责的街镇或居村委代码"),
    (["--service-code", "not_a_category=X1"], "对方类别代码应写成"),
    (["--service-code", "gas_open_flame=含空格 的代码"], "对方类别代码应写成"),
    (["--service-code", "gas_open_flame"], "对方类别代码应写成"),  # no code at all
    # a category it does not take
    (["--service-code", "fire_lane_blocked=FL01"], "只能为该单位受理的类别填写：fire_lane_blocked"),
])
def test_a_bad_field_is_named_and_nothing_is_written(app, spot, args, message):
    result = add(app, *open311_args("燃气", spot["town"]), *args)
    assert result.exit_code != 0 and message in result.output, result.output
    assert count(app) == 0


def test_a_body_s_own_service_codes_are_kept_listed_and_used_for_its_categories(app, spot):
    result = add(app, *open311_args("燃气", spot["town"], categories="gas_open_flame,fire_lane_blocked"),
                 "--service-code", "gas_open_flame=GAS-01", "--sync-via", "requests")
    assert result.exit_code == 0, result.output
    listed = app.test_cli_runner().invoke(args=["bodies", "list"]).output
    assert "\tgas_open_flame=GAS-01\t" in listed
    with app.app_context():
        body = db.session.scalar(select(Body))
        assert body.service_codes == {"gas_open_flame": "GAS-01"} and body.sync_via == "requests"
        assert registry.service_code(body, "gas_open_flame") == "GAS-01"
        # no code of its own: sent as ours
        assert registry.service_code(body, "fire_lane_blocked") == "fire_lane_blocked"
    assert registry.parse_service_codes("gas_open_flame＝G1， fire_lane_blocked=F.2") == {
        "gas_open_flame": "G1", "fire_lane_blocked": "F.2"}


def test_an_open311_body_needs_a_key_and_the_name_is_unique(app, spot):
    assert "api_key" in add(app, *open311_args("燃气", spot["town"]), key=" ").output
    assert count(app) == 0
    assert add(app, *open311_args("燃气", spot["town"])).exit_code == 0
    again = add(app, *open311_args("燃气", spot["town"]))
    assert again.exit_code != 0 and "已有名为“燃气”的单位" in again.output
    assert count(app) == 1


def _report_at(app, spot, category: str) -> Report:
    """A report's place and category, as the suggestion reads them (nothing is stored)."""
    committee = db.session.scalar(select(Area).where(Area.code == spot["code"]).order_by(Area.generation.desc()))
    return Report(category=category, location=from_shape(Point(spot["lon"], spot["lat"]), srid=4326),
                  committee=committee, town=committee.parent)


def test_the_suggestion_matches_place_and_category_most_specific_first(app, spot, tmp_path):
    outline = tmp_path / "complex.geojson"
    d = 0.0005
    outline.write_text(json.dumps(box(spot["lon"] - d, spot["lat"] - d, spot["lon"] + d, spot["lat"] + d)
                                  .__geo_interface__))
    far = tmp_path / "far.geojson"
    far.write_text(json.dumps(box(spot["lon"] + 0.1, spot["lat"], spot["lon"] + 0.2, spot["lat"] + 0.1)
                              .__geo_interface__))
    with app.app_context():
        other_town = db.session.scalar(select(Area.code).where(Area.level == "town", Area.code != spot["town"]))
    email = ["--kind", "property", "--channel", "email", "--endpoint", "wy@example.com"]
    for name, where, cats in [
        ("镇燃气", ["--areas", spot["town"]], "gas_open_flame"),
        ("居委物业", ["--areas", spot["code"]], "gas_open_flame,fire_lane_blocked"),
        ("综合体物业", ["--outline", str(outline)], "gas_open_flame"),
        ("远处物业", ["--outline", str(far)], "gas_open_flame"),
        ("别镇燃气", ["--areas", other_town], "gas_open_flame"),
        ("只管通道", ["--areas", spot["town"]], "fire_lane_blocked"),
        ("已停用", ["--areas", spot["town"]], "gas_open_flame"),
    ]:
        result = app.test_cli_runner().invoke(args=["bodies", "add", "--name", name, *email, *where,
                                                    "--categories", cats])
        assert result.exit_code == 0, result.output
    assert app.test_cli_runner().invoke(args=["bodies", "disable", "7"]).exit_code == 0
    with app.app_context():
        gas = [b.name for b in registry.matching(_report_at(app, spot, "gas_open_flame"))]
        lane = [b.name for b in registry.matching(_report_at(app, spot, "fire_lane_blocked"))]
        wiring = registry.matching(_report_at(app, spot, "illegal_wiring"))
    assert gas == ["综合体物业", "居委物业", "镇燃气"]
    assert lane == ["居委物业", "只管通道"]
    assert wiring == []
    listed = app.test_cli_runner().invoke(args=["bodies", "list"]).output
    assert "已停用" not in listed and "综合体物业" in listed and "+outline" in listed
    assert "已停用" in app.test_cli_runner().invoke(args=["bodies", "list", "--all"]).output


def test_a_bad_outline_is_refused(app, tmp_path):
    bad = tmp_path / "bow.geojson"  # a self-crossing ring
    bad.write_text(json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}))
    result = app.test_cli_runner().invoke(args=[
        "bodies", "add", "--name", "x", "--kind", "property", "--channel", "email", "--endpoint", "a@b.cn",
        "--categories", "other", "--outline", str(bad)])
    assert result.exit_code != 0 and "有效的 GeoJSON 面" in result.output
    assert count(app) == 0
    assert "找不到编号为 99 的单位" in app.test_cli_runner().invoke(args=["bodies", "disable", "99"]).output
