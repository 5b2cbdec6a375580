"""A volunteer's tasks from every source, merged and paged in SQL: hazards dispatched to them, and more.

A source is a TaskSource in SOURCES (hazards here; another area adds its own with register(), from its
subscribe() when the app is made, so this module names no area above it): `select(user)` gives that user's
own tasks as rows of the columns kind, id (text), status, is_open, due_at, updated_at; `load(ids, user)`
fetches the page's items of that kind in one query; `card` is the template that shows one. The page is one
UNION ALL over the sources: open tasks first, soonest deadline first, then closed ones, most recent first; a
keyset cursor continues it.
"""
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Numeric, Select, String, case, cast, extract, func, literal, select, tuple_, union_all
from sqlalchemy.orm import selectinload

from service.core import cursors
from service.core.db import db
from service.core.models import Report, User
from service.rules.workflow import OPEN

PAGE = 20


@dataclass(frozen=True)
class TaskSource:
    select: Callable[[User], Select]
    load: Callable[[list[str], User], dict[str, object]]
    card: str


def hazard_tasks(user: User) -> Select:
    """Hazard reports dispatched to this volunteer (served by ix_report_assignee)."""
    return select(literal("hazard").label("kind"), cast(Report.id, String).label("id"), Report.status,
                  Report.status.in_(OPEN).label("is_open"), Report.due_at, Report.updated_at
                  ).where(Report.assignee_id == user.id)


def load_hazards(ids: list[str], user: User) -> dict[str, Report]:
    found = db.session.scalars(select(Report).where(Report.id.in_(ids), Report.assignee_id == user.id).options(
        selectinload(Report.committee), selectinload(Report.town), selectinload(Report.photos)))
    return {str(r.id): r for r in found}


SOURCES: dict[str, TaskSource] = {
    "hazard": TaskSource(hazard_tasks, load_hazards, "volunteers/_task_hazard.html"),
}


def register(kind: str, source: TaskSource) -> None:
    """Add another area's tasks to every volunteer's page (e.g. 三单 service orders, service/orders)."""
    SOURCES[kind] = source


@dataclass(frozen=True)
class Task:
    kind: str
    id: str
    status: str
    item: object
    card: str


def page(user: User, cursor: str = "", limit: int = PAGE) -> tuple[list[Task], str | None]:
    """One page of the user's tasks from every source, and the cursor of the next page (None on the last)."""
    merged = union_all(*(s.select(user) for s in SOURCES.values())).subquery()
    rank = case((merged.c.is_open, 0), else_=1)
    # Open: soonest deadline first; closed: latest change first. One numeric key makes one keyset order.
    key = case((merged.c.is_open, extract("epoch", func.coalesce(merged.c.due_at, merged.c.updated_at))),
               else_=-extract("epoch", merged.c.updated_at))
    query = select(merged.c.kind, merged.c.id, merged.c.status, rank.label("rank"), key.label("key"))
    if cursor:
        r, k, kind, tid = cursors.decode(cursor, cursors.choice("0", "1"), cursors.NUMBER, cursors.WORD,
                                         cursors.WORD)
        query = query.where(tuple_(rank, key, merged.c.kind, merged.c.id) > tuple_(int(r), cast(k, Numeric), kind,
                                                                                    tid))
    rows = db.session.execute(query.order_by(rank, key, merged.c.kind, merged.c.id).limit(limit + 1)).all()
    more, rows = len(rows) > limit, rows[:limit]
    items = {}
    for kind, source in SOURCES.items():
        ids = [r.id for r in rows if r.kind == kind]
        items[kind] = source.load(ids, user) if ids else {}
    tasks = [Task(r.kind, r.id, r.status, items[r.kind].get(r.id), SOURCES[r.kind].card) for r in rows]
    following = cursors.encode(rows[-1].rank, rows[-1].key, rows[-1].kind, rows[-1].id) if more else None
    return [t for t in tasks if t.item is not None], following
