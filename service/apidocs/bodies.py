"""The request bodies of the native API, as marshmallow schemas: one declaration describes a body in the OpenAPI
document and checks it (service/web/jsonbody.py, body()) before its view runs.

A body that is no object, or a field of the wrong type, is a 400 `bad_body` with the schema's HELP; a field that
states a refusal (refused() below) is a 422 with that code and message whenever it fails, type included, unless it
says wrong_type="body". What needs the database, the caller or several fields together stays in the domain.
Fields a body does not declare are ignored, as the service always has.
"""
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from service.apidocs.schemas import STATUSES, Schema, req
from service.core.fields import MAX_NOTE, NOTE_REFUSAL
from service.reports import moves
from service.rules.categories import CATEGORIES, RISK_LEVELS
from service.sites import campaigns, inspections
from service.sites.kinds import SITE_KINDS
from service.volunteers import ledger, profile

SHAPE = "\x00shape"  # the message jsonbody gives every type error of a field, to tell them from refused values


def refused(field: fields.Field, code: str, message, wrong_type: str = "field") -> fields.Field:
    """Name the 422 a failing value of this field gets: its code (also shown in the OpenAPI document as
    x-error-code) and message (a lazy text, or a function giving one); wrong_type "body" keeps a wrong type a 400."""
    field.metadata = {**field.metadata, "x-error-code": code, "refusal": message, "wrong_type": wrong_type}
    return field


def optional(field: fields.Field) -> fields.Field:
    field.allow_none = True  # a client may send null for a field it leaves out
    return field


def note() -> fields.Field:
    return refused(optional(fields.String(validate=validate.Length(max=MAX_NOTE))), "bad_note", NOTE_REFUSAL,
                   wrong_type="body")


class Scalar(fields.Field):
    """Text or a number, as a form sends it or JSON may (the domain reads it as text): a list, an object or a
    boolean is the body's shape, a 400."""

    default_error_messages = {"invalid": "Not text or a number."}

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, metadata={"type": ["string", "number"], **kwargs.pop("metadata", {})},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict | list | bool):
            raise self.make_error("invalid")
        return value


class Body(Schema):
    HELP = _l("请求体应为 JSON 对象，请检查后重试。")
    FORM = False  # whether a form (urlencoded or multipart) is read as well as JSON


class Move(Body):
    HELP = _l("请求体应为 JSON：{\"to\": 目标状态, \"note\": 备注}。")
    FORM = True  # after-photos come as multipart
    to = req(fields.String(metadata={"enum": STATUSES}))
    note = note()
    duplicate_of = optional(fields.String(metadata={"format": "uuid"}))
    assignee_id = Scalar(metadata={"description": "id from /assignees", "type": ["integer", "string"]})
    body_id = Scalar(metadata={"description": "the body a report is transferred to (to: transferred; note: why)",
                               "type": ["integer", "string"]})


class Regrade(Body):
    HELP = _l("请求体应为 JSON：{\"risk_level\": 风险等级, \"note\": 备注}。")
    risk_level = refused(optional(fields.String(metadata={"enum": list(RISK_LEVELS)})), "bad_risk_level",
                         moves.bad_risk_level)
    note = note()


class Reassign(Body):
    HELP = _l("请求体应为 JSON：{\"committee\": 居村委代码, \"note\": 备注}。")
    committee = req(fields.String(metadata={"description": "12-digit committee code"}))
    note = note()


class Relink(Body):
    HELP = _l("请求体应为 JSON 对象，例如 {\"site\": \"场所编号\"}；取消关联时 site 为 null。")
    site = optional(fields.String(metadata={"description": "the site's external id; null unlinks"}))
    note = note()


class NewHours(Body):
    hours = refused(optional(fields.Float(metadata={"exclusiveMinimum": 0, "maximum": 24})), "bad_hours",
                    ledger.BAD_HOURS)
    date = refused(optional(fields.Date()), "bad_date", ledger.BAD_DATE)
    started_at = refused(optional(fields.DateTime()), "bad_time", ledger.BAD_TIME)
    ended_at = refused(optional(fields.DateTime()), "bad_time", ledger.BAD_TIME)
    note = note()
    corrects = refused(optional(fields.Integer(strict=True, validate=validate.Range(1), metadata={
        "description": "id of the entry corrected"})), "bad_corrects", ledger.BAD_CORRECTS)


class Decision(Body):
    FORM = True  # no body at all is a decision without a note
    note = note()


def _texts(code: str, message) -> fields.Field:
    return refused(fields.List(fields.String()), code, message)


class MyProfile(Body):
    skills = _texts("bad_list", profile.BAD_LIST)
    availability = _texts("bad_availability", profile.bad_availability)


class Profile(MyProfile):
    tags = _texts("bad_list", profile.BAD_LIST)
    real_name = refused(fields.String(), "bad_text", profile.BAD_TEXT)
    team = refused(optional(fields.String()), "bad_text", profile.BAD_TEXT)
    committee = refused(fields.String(metadata={"description": "12-digit committee code"}), "bad_committee",
                        profile.BAD_COMMITTEE)
    active = refused(fields.Boolean(truthy={True}, falsy={False}), "bad_active", profile.BAD_ACTIVE)


def _day(name: str) -> fields.Field:
    return refused(req(fields.Date()), "bad_" + name, campaigns.BAD_DAY)


def _title() -> fields.Field:
    return refused(req(fields.String(validate=validate.Length(max=campaigns.MAX_TITLE))), "bad_title",
                   campaigns.BAD_TITLE)


class NewCampaign(Body):
    title = _title()
    starts_on = _day("starts_on")
    ends_on = _day("ends_on")
    guidance = refused(fields.String(validate=validate.Length(max=campaigns.MAX_GUIDANCE)), "bad_guidance",
                       campaigns.BAD_GUIDANCE)
    focus_categories = refused(fields.List(fields.String(), validate=validate.ContainsOnly(list(CATEGORIES))),
                               "bad_categories", campaigns.BAD_CATEGORIES)
    focus_site_kinds = refused(fields.List(fields.String(), validate=validate.ContainsOnly(list(SITE_KINDS))),
                               "bad_site_kinds", campaigns.BAD_SITE_KINDS)
    target_towns = _texts("bad_towns", campaigns.BAD_TOWNS)


class NewRound(Body):
    title = _title()
    starts_on = _day("starts_on")
    ends_on = _day("ends_on")
    sites = refused(req(fields.List(fields.String(), validate=validate.Length(1, inspections.MAX_SITES), metadata={
        "description": "the sites' external ids"})), "bad_sites", inspections.BAD_SITES)
    inspectors = refused(req(fields.List(fields.Integer(strict=True), validate=validate.Length(min=1), metadata={
        "description": "user ids"})), "bad_inspectors", inspections.BAD_INSPECTORS)


class Position(Body):
    """A position sent by a phone: lon, lat in crs (WGS-84 when left out); geo.coords checks the numbers."""

    FORM = True
    lon = Scalar()
    lat = Scalar()
    crs = Scalar(metadata={"enum": ["wgs84", "gcj02", "bd09"]})
    accuracy_m = Scalar()


class NewOrder(Position):
    """kind, contact_phone, window_start, window_end and the position are needed; the intake (service/orders/intake.py)
    says which one is missing, with its own code, so the schema does not refuse them first with the generic help."""

    kind = Scalar(metadata={"description": "a code from /api/v1/orders/kinds (needed)"})
    description = Scalar()
    address = Scalar()
    contact_name = Scalar()
    contact_phone = Scalar(metadata={"description": "needed"})
    window_start = Scalar(metadata={"format": "date-time", "description": "needed"})
    window_end = Scalar(metadata={"format": "date-time", "description": "needed"})
    volunteers_needed = Scalar(metadata={"type": ["integer", "string"]})


class Rating(Body):
    FORM = True
    rating = Scalar(metadata={"description": "1 to 5", "type": ["integer", "string"]})
    comment = Scalar()


class OrderNote(Body):
    FORM = True
    note = note()


class Dispatch(OrderNote):
    volunteer_ids = fields.List(Scalar())
    team = Scalar()


class CheckOut(Position):
    outcome = Scalar()
