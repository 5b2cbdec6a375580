"""A request body is described and checked by one declaration (28): the marshmallow schema its OpenAPI entry names
(service/apidocs/operations.py) is the one service/web/jsonbody.body() checks it against before the view runs."""
import ast

import pytest
from marshmallow import fields

from service.apidocs import bodies as s
from service.apidocs.operations import OPERATIONS
from service.apidocs.schemas import Open
from service.core.errors import ApiError
from service.web.jsonbody import checked
from tests.support.paths import ROOT

# Multipart bodies whose field names are built from the site's checklist (item_<code>, photo_<code>), and the
# report intake, whose photo parts go through the photo pipeline's own checks: described, not loaded by a schema.
DESCRIBED_ONLY = {"sites_api.finish_inspection", "reports_api.create_report"}
BODIES = {name: op.body for name, op in OPERATIONS.items() if op.body and name not in DESCRIBED_ONLY}
DAYS = {"starts_on": "2026-12-01", "ends_on": "2026-12-02"}
VALID = {s.Move: {"to": "accepted"}, s.Reassign: {"committee": "310112001001"},
         s.NewCampaign: {"title": "t", **DAYS}, s.NewRound: {"title": "t", "sites": ["A"], "inspectors": [1], **DAYS},
         s.NewOrder: {"kind": "k", "contact_phone": "13800000000", "window_start": "2026-12-01T09:00",
                      "window_end": "2026-12-01T10:00"}}


def refusal(schema, data) -> tuple[int, str, str]:
    with pytest.raises(ApiError) as e:
        checked(schema, data)
    return e.value.status, e.value.code, e.value.message


def test_every_body_has_a_schema_of_its_own():
    assert len(BODIES) == 19
    assert [name for name, schema in BODIES.items() if schema is Open or not issubclass(schema, s.Body)] == []


def test_every_checked_value_says_what_to_fix():
    """A field whose validators can refuse a value names the 422 it gets, so no value error is a bare 400."""
    silent = [f"{schema.__name__}.{name}" for schema in set(BODIES.values())
              for name, field in schema().fields.items() if field.validators and "refusal" not in field.metadata]
    assert silent == []


@pytest.mark.parametrize("name", sorted(BODIES))
def test_a_body_that_is_no_object_is_a_400_with_the_schemas_help(name):
    schema = BODIES[name]
    for data in ([1], "text", None, 3):
        assert refusal(schema, data) == (400, "bad_body", str(schema.HELP))


@pytest.mark.parametrize("name", sorted(BODIES))
def test_each_field_of_the_wrong_type_is_refused_as_declared(name):
    schema = BODIES[name]
    for key, field in schema().fields.items():
        valid = VALID.get(schema, {})
        assert checked(schema, valid) is valid
        got = refusal(schema, VALID.get(schema, {}) | {key: {"nested": 1}})
        if "refusal" in field.metadata and field.metadata["wrong_type"] == "field":
            message = field.metadata["refusal"]
            assert got == (422, field.metadata["x-error-code"], str(message() if callable(message) else message))
        else:
            assert got == (400, "bad_body", str(schema.HELP)), (key, got)


def test_a_value_out_of_range_is_the_fields_422_and_the_first_field_at_fault_is_named():
    assert refusal(s.Move, {"to": "accepted", "note": "备" * 2001})[:2] == (422, "bad_note")
    assert refusal(s.Move, {"to": "accepted", "note": ["x"]})[:2] == (400, "bad_body")  # a type: the shape
    assert refusal(s.NewHours, {"corrects": 0})[:2] == (422, "bad_corrects")
    assert refusal(s.NewRound, {"title": "t", "starts_on": "2026-12-01", "ends_on": "2026-12-02", "sites": [],
                                "inspectors": [1]})[:2] == (422, "bad_sites")
    # title is declared before sites: the first field at fault is the one named
    assert refusal(s.NewRound, {"title": "x" * 101, "sites": []})[:2] == (422, "bad_title")
    assert refusal(s.NewCampaign, {"title": "t", "starts_on": "2026-12-01", "ends_on": "2026-12-31",
                                   "focus_categories": ["no_such"]})[:2] == (422, "bad_categories")


def test_what_the_schema_takes_passes_unchanged_unknown_fields_included():
    sent = {"to": "dispatched", "note": None, "assignee_id": "7", "later": [1]}
    assert checked(s.Move, sent) is sent
    assert checked(s.Profile, {"skills": ["电工"], "active": False, "extra": 1})
    assert checked(s.Dispatch, {"volunteer_ids": [1, "2"], "team": "一队", "note": "好"})


def test_no_route_reads_a_json_body_but_through_its_schema():
    """json_body() is called by body() alone; no area reads request.json or get_json itself."""
    found = []
    for path in (ROOT / "service").rglob("*.py"):
        if path.match("service/web/jsonbody.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else \
                node.attr if isinstance(node, ast.Attribute) and node.attr == "json" else None
            if name in ("json_body", "get_json") or (isinstance(node, ast.Attribute) and name == "json"
                                                     and isinstance(node.value, ast.Name)
                                                     and node.value.id == "request"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_list_fields_of_a_form_are_read_as_lists():
    from werkzeug.datastructures import MultiDict
    form = MultiDict([("volunteer_ids", "1"), ("volunteer_ids", "2"), ("note", "好")])
    assert checked(s.Dispatch, form) is form
    assert isinstance(s.Dispatch().fields["volunteer_ids"], fields.List)


def test_an_order_missing_a_field_reaches_the_intake_which_names_it():
    """The intake says which of kind, phone and window is missing (bad_kind, bad_contact_phone ...): the schema
    refuses only shapes there, so a missing field never gets the generic help instead."""
    assert checked(s.NewOrder, {}) == {}
    assert refusal(s.NewOrder, {"kind": ["a"]})[:2] == (400, "bad_body")
