"""The access log: who saw residents' contacts, when, where and how many (issue 25, migration 0035).

Writing: every page, JSON answer or export that shows a resident's contact calls record() once per request,
after it has built what it shows: who (the user and their role then), when (clock.now()), the view (the Flask
endpoint), what (one report, one service order, or the filter of a list or an export) and how many contacts it
showed. A view that shows none (the contact is empty, or the rule does not let this user read it) writes nothing.
Each view of the same report by the same person is one more record: simple, and a second look is a fact too.
What counts as shown is decided by the rules, not here: scope.report_contact for reports (reports.queries.contact,
the exports), orders.models.order_contact for service orders (orders.queries.contact, its `contact_visible`).

Reading: district admins page through it newest first, by user, report or order (GET /api/v1/access-log and the
page /access-log), keyset-paginated on (created_at, id) with an index for each filter.

The table is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, and the app's role may only insert and read
(service/core/migrate.APPEND_ONLY), as for the reports' history.
"""
import uuid
from dataclasses import dataclass

from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import insert, select, tuple_

from service.core import clock, cursors, localtime
from service.core.db import db
from service.core.errors import Invalid
from service.core.models import User
from service.privacy.models import KINDS, AccessRecord
from service.rules.roles import ROLE_LABELS
from service.volunteers.queries import as_id, wide

PAGE = 50
MAX_PAGE = 100


def record(user: User | None, kind: str, shown: int, *, report_id: uuid.UUID | None = None,
           order_id: int | None = None, filter: dict | None = None) -> bool:
    """Write one access record of a view that showed `shown` residents' contacts (nothing when none was shown);
    name exactly one of report_id, order_id or filter. Committed, in a short transaction of its own on the
    primary: the request's session is rolled back first, so nothing it left uncommitted (a refused move) is
    written with the record, and a request reading from the replica (an export) still writes here. Call it after
    the answer is built and before it is sent: if the record cannot be written, nothing is shown."""
    if user is None or shown <= 0:
        return False
    assert kind in KINDS and sum(v is not None for v in (report_id, order_id, filter)) == 1, (kind, filter)
    row = {"created_at": clock.now(), "user_id": user.id, "role": user.role, "kind": kind,
           "endpoint": (request.endpoint if has_request_context() else None) or "", "report_id": report_id,
           "order_id": order_id, "filter": filter, "shown": shown}
    db.session.rollback()
    db.session.execute(insert(AccessRecord).values(row), bind_arguments={"bind": db.engine})
    db.session.commit()
    return True


def record_orders(user: User | None, kind: str, answers: list[dict], **what) -> bool:
    """record() for service orders as orders.queries.to_json answers them: a contact is shown where the order's
    rule let this user read it (`contact_visible`; an order always has the resident's phone)."""
    return record(user, kind, sum(1 for a in answers if a.get("contact_visible")), **what)


@dataclass(frozen=True)
class LogFilter:
    """Which records to list: one person's, one report's, one order's (any together), a page at a time."""

    user_id: int | None = None
    report_id: uuid.UUID | None = None
    order_id: int | None = None
    limit: int = PAGE

    @classmethod
    def from_args(cls, args) -> "LogFilter":
        """Read the filter from a query string; anything malformed is a 422 that says what to fix."""
        user_id = _id(args.get("user", ""), "bad_user", _("user 应为用户编号（正整数）。"))
        order_id = _id(args.get("order", ""), "bad_order", _("order 应为服务单编号（正整数）。"))
        report_id = None
        if raw := (args.get("report") or "").strip():
            try:
                report_id = uuid.UUID(raw)
            except ValueError:
                raise Invalid("bad_report", _("report 应为 36 位的上报编号（如 0b6f1c2e-…）。")) from None
        limit = as_id(args.get("limit", "") or PAGE)
        if limit is None or not 1 <= limit <= MAX_PAGE:
            raise Invalid("bad_limit", _("limit 应为 1–100 的整数。"))
        return cls(user_id, report_id, order_id, limit)

    def query_string(self) -> dict[str, str]:
        """The filter as query arguments, for the page's links."""
        out = {"user": self.user_id, "report": self.report_id, "order": self.order_id,
               "limit": self.limit if self.limit != PAGE else None}
        return {k: str(v) for k, v in out.items() if v is not None}


def _id(raw: str, code: str, message: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    found = as_id(raw)
    if found is None:
        raise Invalid(code, message)
    return found


def page(filt: LogFilter, cursor: str = "") -> tuple[list[dict], str | None]:
    """One page of the log, newest first, with each person's current name (one join), and the next cursor."""
    query = (select(AccessRecord, User.name).join(User, User.id == AccessRecord.user_id)
             .order_by(AccessRecord.created_at.desc(), AccessRecord.id.desc()).limit(filt.limit + 1))
    if filt.user_id is not None:
        query = query.where(AccessRecord.user_id == wide(filt.user_id))
    if filt.report_id is not None:
        query = query.where(AccessRecord.report_id == filt.report_id)
    if filt.order_id is not None:
        query = query.where(AccessRecord.order_id == wide(filt.order_id))
    if cursor:
        after = cursors.decode(cursor, cursors.DATETIME, cursors.INT)
        query = query.where(tuple_(AccessRecord.created_at, AccessRecord.id) < tuple_(*after))
    found = db.session.execute(query).tuples().all()
    more, found = len(found) > filt.limit, found[:filt.limit]
    last = found[-1][0] if more else None
    return [_shape(r, name) for r, name in found], (cursors.encode(last.created_at, last.id) if last else None)


def _shape(r: AccessRecord, name: str) -> dict:
    return {"id": r.id, "at": r.created_at.isoformat(), "at_local": localtime.show(r.created_at),
            "user_id": r.user_id, "user_name": name, "role": r.role, "role_label": str(ROLE_LABELS.get(r.role, r.role)),
            "kind": r.kind, "kind_label": kind_label(r.kind), "endpoint": r.endpoint,
            "report_id": str(r.report_id) if r.report_id else None, "order_id": r.order_id, "filter": r.filter,
            "shown": r.shown}


def kind_label(kind: str) -> str:
    return {"detail": _("页面"), "export": _("导出"), "api": _("接口")}.get(kind, kind)
