"""A key-site file (GeoJSON, CSV or XLSX): reading and row-level validation, on the roster's machinery."""
import json
import math
from pathlib import Path

from flask_babel import gettext as _
from shapely import wkt
from shapely.errors import GEOSException
from shapely.geometry import Point, shape

from geo import coords
from service.core import sheets
from service.core.sheets import SheetError
from service.sites.kinds import RISK_CLASSES, SITE_KINDS
from service.volunteers import roster
from service.volunteers.roster import FORMULA_STARTS

# Columns of a CSV/XLSX file, and property names of a GeoJSON feature: field, header.
COLUMNS = (("external_id", "编号"), ("kind", "类型"), ("name", "名称"), ("address", "地址"), ("lon", "经度"),
           ("lat", "纬度"), ("geometry", "几何"), ("contact", "联系方式"), ("risk_class", "风险等级"))
REQUIRED = ("external_id", "kind", "name")
HEADERS = dict(COLUMNS)
MAX_ID, MAX_NAME, MAX_TEXT = 64, 200, 500
GEOMETRY_TYPES = ("Point", "Polygon", "MultiPolygon")
KIND_CODES = {str(label): code for code, label in SITE_KINDS.items()} | {c: c for c in SITE_KINDS}
RISK_CODES = {str(label): code for code, label in RISK_CLASSES.items()} | {c: c for c in RISK_CLASSES} | {"": "medium"}


def read_rows(path: str) -> list[tuple[int, tuple[str, ...]]]:
    """Read a site file into (line or feature number, texts in COLUMNS order); raise SheetError if unreadable."""
    if Path(path).suffix.lower() not in (".geojson", ".json"):
        return sheets.read_rows(path, COLUMNS, REQUIRED)
    try:
        data = json.loads(Path(path).read_bytes())
        features = data["features"] if data.get("type") == "FeatureCollection" else None
    except (ValueError, AttributeError, KeyError) as e:
        raise SheetError(_("无法读取该 GeoJSON 文件，请确认它是 FeatureCollection 且未损坏。")) from e
    if not isinstance(features, list) or not features:
        raise SheetError(_("GeoJSON 文件中没有任何要素，请确认选择了正确的场所文件。"))
    by_name = {h: f for f, h in COLUMNS} | {f: f for f, _h in COLUMNS}
    rows = []
    for n, feature in enumerate(features, start=1):
        feature = feature if isinstance(feature, dict) else {}
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        texts = {by_name[k]: sheets.cell_text(v) for k, v in props.items() if k in by_name}
        texts["geometry"] = json.dumps(feature.get("geometry"))
        rows.append((n, tuple(texts.get(f, "") for f, _h in COLUMNS)))
    return rows


def _out_of_range() -> str:
    return _("坐标无效：经度、纬度应为数字，经度在 -180 到 180 之间，纬度在 -90 到 90 之间。")


def _geometry(raw_geometry: str, lon: str, lat: str, crs: str):
    """The row's geometry in WGS-84, or a reason it is unusable."""
    try:
        if raw_geometry.strip() and raw_geometry.strip() != "null":
            text = raw_geometry.strip()
            geom = shape(json.loads(text)) if text.startswith("{") else wkt.loads(text)
        elif not lon.strip() and not lat.strip():
            raise ValueError("no position")
        else:
            geom = Point(coords.parse_lonlat(lon, lat))  # finite and within range, or CoordinateError
    except coords.CoordinateError:
        return None, _out_of_range()
    except (ValueError, TypeError, KeyError, AttributeError, GEOSException):
        return None, _("位置无效：请填写经度和纬度，或在“几何”列填写点或面的 WKT/GeoJSON。")
    if geom.geom_type not in GEOMETRY_TYPES or geom.is_empty:
        return None, _("几何类型只能是点、面或多面。")
    if not all(math.isfinite(v) for v in geom.bounds) or not (-180 <= geom.bounds[0] <= geom.bounds[2] <= 180
                                                             and -90 <= geom.bounds[1] <= geom.bounds[3] <= 90):
        return None, _out_of_range()
    geom = coords.transform_geometry(geom, crs)
    if not geom.is_valid:
        return None, _("面的边界自相交或不闭合，请在制图软件中修复后重试。")
    return geom, None


def check_row(line: int, raw: tuple[str, ...], crs: str, seen: dict) -> tuple[list, tuple]:
    """Return the row's problems as (field, reason) and, when there are none, its COPY tuple (EWKT geometry)."""
    if "\x00" in "".join(raw):
        return [("name", _("该行含有无效的控制字符，请删除后重试。"))], ()
    external_id, kind, name, address, lon, lat, raw_geometry, contact, risk = map(str.strip, raw)
    problems = [(field, _("内容不能以 =、+、-、@ 开头，请删除开头的符号。"))
                for field, value in (("name", name), ("address", address), ("contact", contact))
                if value[:1] in FORMULA_STARTS]
    if not external_id or len(external_id) > MAX_ID:
        problems.append(("external_id", _("编号不能为空且不超过 64 个字符，请填写场所在原系统中的编号。")))
    elif external_id in seen:
        problems.append(("external_id", _("编号与第 %(line)d 行重复，请合并为一行。", line=seen[external_id])))
    else:
        seen[external_id] = line
    if kind not in KIND_CODES:
        problems.append(("kind", _("类型无效，可填写：%(kinds)s。", kinds="、".join(map(str, SITE_KINDS.values())))))
    if not name or len(name) > MAX_NAME:
        problems.append(("name", _("名称不能为空且不超过 200 个字。")))
    if len(address) > MAX_TEXT or len(contact) > MAX_TEXT:
        problems.append(("address", _("地址和联系方式各不能超过 500 个字。")))
    if risk not in RISK_CODES:
        problems.append(("risk_class", _("风险等级只能填写“高”“中”或“低”。")))
    geom, reason = _geometry(raw_geometry, lon, lat, crs)
    if reason:
        problems.append(("geometry" if raw_geometry.strip() else "lon", reason))
    if problems:
        return problems, ()
    return [], (line, external_id, KIND_CODES[kind], name, address or None, f"SRID=4326;{geom.wkt}",
                contact or None, RISK_CODES[risk])


def validate(rows, crs: str, progress=None):
    """Check every row (roster.validate's loop and progress); return COPY tuples and the bad rows."""
    return roster.validate(rows, crs, progress, check=check_row, headers=HEADERS)
