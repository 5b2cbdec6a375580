"""The hotline's batch file of work orders (CSV or XLSX, as many 12345 platforms still send): reading and checking
each row, on the roster's machinery (service.core.sheets, volunteers.roster.validate), before anything is taken.

Columns: 工单编号, 类别 (a category's code or name), 风险等级 (optional), 描述, 地址, 经度, 纬度 (in the file's
coordinate system, --crs; GCJ-02 by default, as the city's platforms map), 来电人电话, 签收时限, 答复时限 (optional,
local times such as 2026-12-08 18:00; the hotline body's hours apply when empty).
"""
from datetime import datetime

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from geo import coords
from service.areas import assignment
from service.core import clock, localtime, sheets
from service.hotline.orders import ORDER_NO
from service.rules.categories import CATEGORIES, RISK_LEVELS
from service.volunteers import roster
from service.volunteers.roster import FORMULA_STARTS

COLUMNS = (("order_no", "工单编号"), ("category", "类别"), ("risk_level", "风险等级"), ("description", "描述"),
           ("address", "地址"), ("lon", "经度"), ("lat", "纬度"), ("contact", "来电人电话"),
           ("sign_by", "签收时限"), ("reply_by", "答复时限"))
REQUIRED = ("order_no", "category", "lon", "lat")
HEADERS = dict(COLUMNS)
MAX_TEXT = 2000


def read_rows(path: str) -> list[tuple[int, tuple[str, ...]]]:
    return sheets.read_rows(path, COLUMNS, REQUIRED)


def _category_codes() -> dict:
    return {str(c.name): code for code, c in CATEGORIES.items()} | {code: code for code in CATEGORIES}


def _risk_codes() -> dict:
    return {str(label): code for code, label in RISK_LEVELS.items()} | {code: code for code in RISK_LEVELS}


def _time(raw: str) -> datetime | None:
    if not raw:
        return None
    return localtime.attach(datetime.fromisoformat(raw.replace("/", "-")))


def check_row(line: int, raw: tuple[str, ...], crs: str, seen: dict) -> tuple[list, tuple]:
    """The row's problems as (field, reason), or none and (line, order number, intake form, sign_by, reply_by)."""
    if "\x00" in "".join(raw):
        return [("order_no", _("该行含有无效的控制字符，请删除后重试。"))], ()
    order_no, category, risk, description, address, lon, lat, contact, sign_by, reply_by = map(str.strip, raw)
    problems = [(field, _("内容不能以 =、+、-、@ 开头，请删除开头的符号。"))
                for field, value in (("description", description), ("address", address))
                if value[:1] in FORMULA_STARTS]
    if not ORDER_NO.fullmatch(order_no):
        problems.append(("order_no", _("工单编号应为 1 到 40 位字母、数字、“-”或“_”。")))
    elif order_no in seen:
        problems.append(("order_no", _("工单编号与第 %(line)d 行重复，请合并为一行。", line=seen[order_no])))
    else:
        seen[order_no] = line
    code = _category_codes().get(category)
    if code is None:
        problems.append(("category", _("类别无效，可填写：%(names)s。",
                                       names="、".join(str(c.name) for c in CATEGORIES.values()))))
    risk_code = _risk_codes().get(risk) if risk else (CATEGORIES[code].default_risk if code else None)
    if risk and risk_code is None:
        levels = "、".join(map(str, RISK_LEVELS.values()))
        problems.append(("risk_level", _("风险等级只能填写：%(levels)s。", levels=levels)))
    if len(description) > MAX_TEXT or len(address) > 200 or len(contact) > 100:
        problems.append(("description", _("描述不超过 2000 字，地址不超过 200 字，电话不超过 100 字。")))
    try:
        wlon, wlat = coords.to_wgs84(*coords.parse_lonlat(lon, lat), crs)
    except coords.CoordinateError:
        problems.append(("lon", _("经纬度无效：经度在 -180 到 180 之间，纬度在 -90 到 90 之间。")))
    else:
        if assignment.assign_point(wlon, wlat) is None:
            problems.append(("lon", _("该位置不在本区服务范围内，请核对经纬度和坐标系（--crs）。")))
    times = []
    for field, value in (("sign_by", sign_by), ("reply_by", reply_by)):
        try:
            at = _time(value)
        except ValueError:
            problems.append((field, _("时间格式无效，请填写如 2026-12-08 18:00 的本地时间。")))
            continue
        if at is not None and at <= clock.now():
            problems.append((field, _("时限已过，请核对工单时限。")))
        times.append(at)
    if problems:
        return problems, ()
    form = MultiDict({k: v for k, v in {
        "category": code, "risk_level": risk_code, "description": description, "address": address, "lon": lon,
        "lat": lat, "crs": crs, "location_source": "map", "contact": contact}.items() if v})
    return [], (line, order_no, form, *times)


def validate(rows, crs: str, progress=None):
    """Check every row; return the good rows as check_row's tuples, and the bad rows."""
    return roster.validate(rows, crs, progress, check=check_row, headers=HEADERS)
