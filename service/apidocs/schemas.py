"""Marshmallow shapes of the native API's answers and inputs, for its OpenAPI description.

They describe what the views return (service.reports.queries._shape, categories.as_json, the volunteers'
registry and ledger); the schemathesis contract test (tests/http/test_openapi_contract.py) checks every answer
against them, so a shape changed in one place and not the other fails the suite.
"""
from marshmallow import INCLUDE, fields, validate
from marshmallow import Schema as Strict

from service.core.fields import MAX_NOTE
from service.rules.categories import CATEGORIES, RISK_LEVELS
from service.rules.workflow import TRANSITIONS

STATUSES = sorted(TRANSITIONS)
DAY = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"  # YYYY-MM-DD, or empty for none
STATUS_ARG = "open, closed, all, or statuses separated by commas: " + ", ".join(STATUSES)


class Schema(Strict):
    """An answer may carry fields added after its description (an additive change breaks no client); the fields
    described must be there with their types. tests/browser/test_openapi.py checks the report's own keys exactly."""

    class Meta:
        unknown = INCLUDE


def req(field: fields.Field) -> fields.Field:
    field.required = True
    return field


def text(nullable: bool = False, **meta) -> fields.Field:
    return req(fields.String(allow_none=nullable, metadata=meta))


def number(nullable: bool = False) -> fields.Field:
    return req(fields.Float(allow_none=nullable))


def nested(schema, many: bool = False) -> fields.Field:
    return req(fields.Nested(schema, many=many))


def strings() -> fields.Field:
    return req(fields.List(fields.String()))


class Description(Schema):
    openapi = text()
    info = req(fields.Dict())
    paths = req(fields.Dict())


class Open(Schema):
    """An object whose fields are described by its area's module docstring rather than here (yet)."""


class ErrorBody(Schema):
    code = text(description="stable machine-readable code")
    message = text(description="what to do next, in the caller's language (Chinese by default)")


class Error(Schema):
    error = req(fields.Nested(ErrorBody, unknown="include"))


class CodeName(Schema):
    code = text()
    name = text()


class Category(Schema):
    code = text()
    name = text()
    default_risk = text()
    subtypes = nested(CodeName, many=True)


class Categories(Schema):
    categories = nested(Category, many=True)
    risk_levels = nested(CodeName, many=True)


class LonLat(Schema):
    lon = number()
    lat = number()


class Submitted(LonLat):
    crs = req(fields.String(validate=validate.OneOf(["wgs84", "gcj02", "bd09"])))


class Assignment(Schema):
    method = req(fields.String(validate=validate.OneOf(["covers", "edge", "nearest", "manual"])))
    distance_m = number()
    generation = fields.Integer(allow_none=True, metadata={"description": "boundary generation assigned under"})
    method_name = req(fields.String(metadata={"description": "the method in the reader's language"}))


class Nearby(Schema):
    id = req(fields.UUID())
    distance_m = number()


class Receipt(Schema):
    number = text(description="short number to quote on the phone, e.g. MH-7K3Q-9XPA")
    tracking_url = text(description="private tracking page; whoever holds it sees the report's progress")
    updates = req(fields.String(validate=validate.OneOf(["on", "code_sent", "off"]), metadata={
        "description": "status updates to the contact the report names: on (a confirmed address), code_sent (a "
                       "one-time code was sent there and must be typed on the tracking page first) or off"}))


class Report(Schema):
    id = req(fields.UUID())
    client_report_id = text(nullable=True)
    status = req(fields.String(validate=validate.OneOf(STATUSES)))
    status_label = text()
    category = req(fields.String(validate=validate.OneOf(list(CATEGORIES))))
    category_name = text()
    subcategory = text(nullable=True)
    risk_level = req(fields.String(validate=validate.OneOf(list(RISK_LEVELS))))
    risk_level_name = text()
    description = text()
    address = text(nullable=True)
    location = nested(LonLat)
    location_source = req(fields.String(validate=validate.OneOf(["device", "exif", "map"])))
    submitted = nested(Submitted)
    accuracy_m = number(nullable=True)
    committee = nested(CodeName)
    town = nested(CodeName)
    assignment = nested(Assignment)
    photos = strings()
    thumbnails = strings()
    after_photos = strings()
    photos_pending = req(fields.Integer(metadata={"description": "photos whose faces wait to be blurred (待脱敏): "
                                                                 "not listed until `photos redact --pending`"}))
    created_at = req(fields.DateTime())
    created_local = text()
    taken_at = req(fields.DateTime(allow_none=True))
    due_at = req(fields.DateTime(allow_none=True))
    overdue = req(fields.Boolean())
    escalation = req(fields.String(allow_none=True, validate=validate.OneOf(["town", "district"])))
    warnings = strings()
    duplicate_of = req(fields.UUID(allow_none=True))
    duplicate_photo_of = req(fields.UUID(allow_none=True))
    recurrence_of = fields.UUID(allow_none=True, metadata={
        "description": "the report verified lately at this spot that this one repeats (a recurrence)"})
    site_id = fields.Integer(allow_none=True, metadata={"description": "the key site it was seen at"})


class ReportShown(Report):
    possible_duplicates = nested(Nearby, many=True)


class CreatedReport(ReportShown):
    receipt = fields.Nested(Receipt, metadata={"description": "only for a report sent without signing in"})


class Event(Schema):
    kind = text()
    from_ = req(fields.String(allow_none=True, data_key="from"))
    to = text()
    actor = text(nullable=True)
    note = text()
    data = req(fields.Dict())
    at = req(fields.DateTime())
    photos = strings()


class ReportDetail(ReportShown):
    events = nested(Event, many=True)


class ReportPage(Schema):
    reports = nested(Report, many=True)
    count = req(fields.Integer())
    total = req(fields.Integer())
    next = text(nullable=True, description="cursor of the next page, or null on the last one")


class Assignee(Schema):
    id = req(fields.Integer())
    name = text()
    phone = text(description="masked, e.g. 138****0000")


class Assignees(Schema):
    assignees = nested(Assignee, many=True)


class FeatureCollection(Schema):
    type = req(fields.String(validate=validate.Equal("FeatureCollection")))
    features = req(fields.List(fields.Dict()))


class Committee(CodeName):
    kind = text(nullable=True)


class Lookup(Schema):
    location = nested(LonLat)
    committee = nested(Committee)
    town = nested(CodeName)
    assignment = nested(Assignment)


class Volunteer(Schema):
    id = req(fields.Integer())
    real_name = text()
    phone = text()
    committee = text(nullable=True)
    team = text(nullable=True)
    skills = strings()
    tags = strings()
    availability = strings()
    active = req(fields.Boolean())
    approved_hours = number()
    pending_hours = number()
    stars = req(fields.Integer())
    next_star_hours = number(nullable=True)


class Volunteers(Schema):
    volunteers = nested(Volunteer, many=True)
    next_cursor = text(nullable=True)


class HourEntry(Schema):
    id = req(fields.Integer())
    volunteer_id = req(fields.Integer())
    source = text()
    hours = number()
    date = req(fields.Date())
    started_at = req(fields.DateTime(allow_none=True))
    ended_at = req(fields.DateTime(allow_none=True))
    report_id = req(fields.UUID(allow_none=True))
    corrects = req(fields.Integer(allow_none=True))
    note = text()
    created_by = req(fields.Integer(allow_none=True))
    status = req(fields.String(validate=validate.OneOf(["pending", "approved", "rejected"])))
    decided_by = req(fields.Integer(allow_none=True))
    decided_at = req(fields.DateTime(allow_none=True))


class HourEntries(Schema):
    entries = nested(HourEntry, many=True)


# --- inputs: unknown fields are ignored by the service, so they stay open too ---

class ReportFilterArgs(Schema):
    status = fields.String(metadata={"description": STATUS_ARG})
    category = fields.String(metadata={"description": "category codes separated by commas"})
    risk = fields.String(metadata={"description": "risk levels separated by commas"})
    since = fields.String(validate=validate.Regexp(DAY), metadata={"description": "local day, inclusive (empty: none)"})
    until = fields.String(validate=validate.Regexp(DAY), metadata={"description": "local day, inclusive (empty: none)"})
    committee = fields.String(metadata={"description": "12-digit committee code"})
    town = fields.String(metadata={"description": "9-digit town code"})
    bbox = fields.String(metadata={"description": "minlon,minlat,maxlon,maxlat (WGS-84)"})
    overdue = fields.String(validate=validate.OneOf(["", "1", "true", "0", "false"]))


class ReportListArgs(ReportFilterArgs):
    limit = fields.Integer(validate=validate.Range(1, 1000))
    cursor = fields.String(metadata={"description": "`next` of the previous page"})


class LocationArgs(Schema):
    lon = fields.Float(metadata={"description": "longitude in the given crs"})
    lat = fields.Float(metadata={"description": "latitude in the given crs"})
    crs = fields.String(validate=validate.OneOf(["wgs84", "gcj02", "bd09"]))


class AreaArgs(Schema):
    level = fields.String(validate=validate.OneOf(["district", "town", "committee"]))


class NewReport(LocationArgs):
    photo = req(fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}),
                            metadata={"description": "1 to 3 photos: JPEG, PNG, WebP or HEIC"}))
    category = req(fields.String(validate=validate.OneOf(list(CATEGORIES))))
    subcategory = fields.String()
    risk_level = fields.String(validate=validate.OneOf(list(RISK_LEVELS)))
    description = fields.String(validate=validate.Length(max=MAX_NOTE))
    address = fields.String(validate=validate.Length(max=200))
    accuracy_m = fields.Float()
    location_source = fields.String(validate=validate.OneOf(["device", "map"]))
    client_report_id = fields.String(validate=validate.Length(max=64),
                                     metadata={"description": "idempotency key: a retry returns the same report"})
    contact = fields.String(metadata={"description": "phone or e-mail for updates (residents; never shown)"})


class VolunteerArgs(Schema):
    committee = fields.String()
    team = fields.String()
    skill = fields.String()
    tag = fields.String()
    active = fields.String(validate=validate.OneOf(["", "1", "0", "true", "false"]))
    cursor = fields.Integer(validate=validate.Range(0))
    limit = fields.Integer(validate=validate.Range(1, 200))




class AccessLogArgs(Schema):
    user = fields.Integer(validate=validate.Range(1), metadata={"description": "only this person's records"})
    report = fields.UUID(metadata={"description": "only the records of this report"})
    order = fields.Integer(validate=validate.Range(1), metadata={"description": "only the records of this order"})
    limit = fields.Integer(validate=validate.Range(1, 100))
    cursor = fields.String(metadata={"description": "`next_cursor` of the previous page"})


class AccessRecord(Schema):
    id = req(fields.Integer())
    at = text(description="when, ISO 8601 (UTC)")
    at_local = text(description="when, local time to the minute")
    user_id = req(fields.Integer())
    user_name = text(description="the person's current name")
    role = text(description="their role when they looked")
    role_label = text()
    kind = req(fields.String(validate=validate.OneOf(["detail", "export", "api"])))
    kind_label = text()
    endpoint = text(description="the view that showed the contacts")
    report_id = text(nullable=True, description="the report shown, or null")
    order_id = req(fields.Integer(allow_none=True, metadata={"description": "the service order shown, or null"}))
    filter = req(fields.Dict(allow_none=True, metadata={"description": "a list's or an export's filter, or null"}))
    shown = req(fields.Integer(metadata={"description": "how many residents' contacts were shown"}))


class AccessLog(Schema):
    records = nested(AccessRecord, many=True)
    next_cursor = text(nullable=True, description="cursor of the next page, or null on the last one")
