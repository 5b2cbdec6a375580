"""No page does N+1 queries: each page and list costs the same number of SQL statements with 8 reports as with 40
(8 already put at least one report in every queue, so both runs take the same paths)."""

import pytest
from sqlalchemy import text

from tests.support.query_counts import cost
from tests.support.reports_api import post


def spread(owner_engine):
    """Put the reports in every queue: a quarter each accepted, dispatched, rectified; some overdue."""
    with owner_engine.begin() as conn:
        conn.execute(text("""
            WITH numbered AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM report)
            UPDATE report r SET status = (ARRAY['submitted','accepted','dispatched','rectified'])[1 + n % 4],
                   due_at = CASE WHEN n % 3 = 0 THEN now() - interval '1 day' ELSE now() + interval '3 days' END
            FROM numbered WHERE numbered.id = r.id"""))


PAGES = [("/queues", "sup_a"), ("/queues?show=to_dispatch", "sup_a"), ("/inbox", "staff_a"), ("/me/reports", "admin"),
         ("/api/v1/reports?limit=100", "admin"), ("/api/v1/reports?status=all&overdue=1", "sup_a"), ("/map", "admin"),
         ("/api/v1/reports.csv?status=all", "admin")]


def test_pages_cost_the_same_queries_whatever_the_number_of_reports(app, http, as_user, owner_engine, spot):
    for _ in range(8):
        post(http, lon=spot["lon"], lat=spot["lat"])
    spread(owner_engine)
    few = {path: cost(app, as_user, path, who) for path, who in PAGES}
    for _ in range(32):
        post(http, lon=spot["lon"], lat=spot["lat"])
    spread(owner_engine)
    many = {path: cost(app, as_user, path, who) for path, who in PAGES}
    assert many == few  # a per-row query would add ~32 statements to a page
    assert all(n > 0 for n in many.values())  # the hook really saw the requests


@pytest.mark.parametrize("who", ["sup_a", "admin"])
def test_the_detail_page_does_not_grow_with_history_or_neighbours(app, http, as_user, owner_engine, spot, who):
    first = post(http, lon=spot["lon"], lat=spot["lat"]).json()["id"]
    few = cost(app, as_user, f"/reports/{first}", who)
    for _ in range(12):  # neighbours (possible duplicates) and their photos
        post(http, lon=spot["lon"], lat=spot["lat"])
    assert cost(app, as_user, f"/reports/{first}", who) == few
