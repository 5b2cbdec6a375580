"""Named selects of the bodies page: the registry a page at a time, each body with its open transfers counted."""
from urllib.parse import urlsplit

from sqlalchemy import func, select

from service.bodies import registry
from service.bodies.models import Body, Transfer
from service.core import cursors
from service.core.db import db
from service.core.models import Area

PAGE = 50


def endpoint_host(channel: str, endpoint: str) -> str:
    """Where a body is reached, without the path or query (a webhook URL often carries its token there)."""
    if channel == "email":
        return endpoint.rpartition("@")[2]
    parts = urlsplit(endpoint)
    return f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "")


def _area_names(codes: set[str]) -> dict[str, str]:
    """The newest name of each area code, in one query for the whole page."""
    if not codes:
        return {}
    rows = db.session.execute(select(Area.code, Area.name).where(Area.code.in_(codes))
                              .distinct(Area.code).order_by(Area.code, Area.generation.desc()))
    return {code: name for code, name in rows}


def page(cursor: str = "") -> tuple[list[dict], str | None]:
    """One page of every body, active or not, in the order registered (keyset on id), as registry.describe()
    shows them (never the key) with the endpoint's host only and the number of open transfers; and the next
    page's cursor. The counts come from one grouped query over the page's bodies, not one per row."""
    after = cursors.decode(cursor, cursors.INT)[0] if cursor else 0
    listed = (select(Body.id).where(Body.id > after).order_by(Body.id).limit(PAGE + 1)).cte("listed")
    open_counts = (select(Transfer.body_id, func.count().label("n"))
                   .where(Transfer.ended_at.is_(None), Transfer.body_id.in_(select(listed.c.id)))
                   .group_by(Transfer.body_id).subquery())
    found = db.session.execute(
        select(Body, func.coalesce(open_counts.c.n, 0)).join(listed, listed.c.id == Body.id)
        .outerjoin(open_counts, open_counts.c.body_id == Body.id).order_by(Body.id)).tuples().all()
    more, found = len(found) > PAGE, found[:PAGE]
    names = _area_names({code for body, _n in found for code in body.area_codes})
    rows = []
    for body, open_transfers in found:
        shown = registry.describe(body)
        endpoint = shown.pop("endpoint")
        rows.append(shown | {"host": endpoint_host(shown["channel"], endpoint), "open_transfers": open_transfers,
                             "areas": [(code, names.get(code, "")) for code in shown["area_codes"]]})
    return rows, (cursors.encode(found[-1][0].id) if more else None)
