"""The Open311 service list and service definitions, read from the hazard categories.

Every category is a service, its stable code the service_code. Every service has metadata: the risk level
applies to all of them (optional; the category's default when not sent), and 九小场所 adds its subtype.
Attribute codes are the native API's field names, so `attribute[risk_level]=major` means `risk_level=major`.
"""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.core.errors import Malformed, NotFound
from service.rules.categories import CATEGORIES, RISK_LEVELS, Category

GROUP = _l("火灾隐患")
ATTRIBUTE_CODES = ("subcategory", "risk_level")


def service_list() -> list[dict]:
    """Every hazard category as an Open311 service."""
    return [{
        "service_code": c.code,
        "service_name": str(c.name),
        "description": str(c.name),
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(str(name) for _code, name in c.subtypes),
        "group": str(GROUP),
    } for c in CATEGORIES.values()]


def category(service_code: str) -> Category:
    """The category of a service_code, or a 404 naming the way to the list."""
    found = CATEGORIES.get(service_code)
    if found is None:
        raise NotFound("unknown_service_code", _("找不到该 service_code，请先查询 services 列表。"))
    return found


def check_codes(raw: str) -> tuple[str, ...]:
    """Return the comma-separated service codes if all are known, else a 400 (a bad argument, not a 404)."""
    codes = tuple(code for code in raw.split(",") if code)
    if not set(codes) <= set(CATEGORIES):
        raise Malformed("bad_service_code", _("service_code 无效，请先查询 services 列表。"))
    return codes


def definition(service_code: str) -> dict:
    """The service definition: its attributes in the spec's shape."""
    c = category(service_code)
    attributes = []
    if c.subtypes:
        attributes.append(_attribute("subcategory", _("场所类型"), c.subtypes))
    risk = _("风险等级（不填则为“%(default)s”）", default=RISK_LEVELS[c.default_risk])
    attributes.append(_attribute("risk_level", risk, tuple(RISK_LEVELS.items())))
    for order, attribute in enumerate(attributes, start=1):
        attribute["order"] = order
    return {"service_code": c.code, "attributes": attributes}


def _attribute(code: str, description: str, values: tuple) -> dict:
    return {
        "variable": True,
        "code": code,
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": None,
        "order": 0,
        "description": description,
        "values": [{"key": key, "name": str(name)} for key, name in values],
    }
