"""Offers nobody answered in time go back to the dispatcher: set-based, idempotent, safe on several nodes.

One statement expires every offer older than ORDER_ACCEPT_WITHIN_H, returns to 待派单 (submitted) each dispatched
order left with nobody to answer and too few acceptances, and writes one `expire` event per order touched. Running
it again at once finds no offer to expire and changes nothing. The town hears of each returned order.
"""
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, text

from service.core import clock
from service.core.db import db
from service.orders import notices
from service.orders.models import ServiceOrder, ServiceOrderEvent
from service.orders.workflow import COMING, sql_list

EXPIRE = text(f"""
WITH expired AS (
    UPDATE service_assignment SET state = 'expired', responded_at = :now
     WHERE state = 'offered' AND offered_at < :cutoff
 RETURNING order_id, volunteer_id
), touched AS (
    SELECT order_id, array_agg(volunteer_id ORDER BY volunteer_id) AS volunteers FROM expired GROUP BY order_id
), returned AS (
    UPDATE service_order o SET status = 'submitted', updated_at = :now
      FROM touched t
     WHERE o.id = t.order_id AND o.status = 'dispatched'
       AND NOT EXISTS (SELECT 1 FROM service_assignment a
                        WHERE a.order_id = o.id AND a.state = 'offered' AND a.offered_at >= :cutoff)
       AND (SELECT count(*) FROM service_assignment a
             WHERE a.order_id = o.id AND a.state IN ({sql_list(COMING)})) < o.volunteers_needed
 RETURNING o.id
)
INSERT INTO service_order_event (order_id, action, from_status, to_status, actor_label, note, data, created_at)
SELECT t.order_id, 'expire', o.status, CASE WHEN r.id IS NULL THEN o.status ELSE 'submitted' END, 'system', '',
       jsonb_build_object('volunteers', to_jsonb(t.volunteers), 'returned', r.id IS NOT NULL), :now
  FROM touched t JOIN service_order o ON o.id = t.order_id LEFT JOIN returned r ON r.id = t.order_id
RETURNING id, order_id, to_status
""")


def escalate(now: datetime | None = None) -> dict[str, int]:
    """Expire unanswered offers and return orders nobody took to the dispatcher; the counts of each."""
    now = now or clock.now()
    cutoff = now - timedelta(hours=current_app.config["ORDER_ACCEPT_WITHIN_H"])
    rows = db.session.execute(EXPIRE, {"now": now, "cutoff": cutoff}).all()
    returned = [r for r in rows if r.to_status == "submitted"]
    if returned:
        orders = {o.id: o for o in db.session.scalars(
            select(ServiceOrder).where(ServiceOrder.id.in_([r.order_id for r in returned])))}
        for r in returned:
            notices.to_town(orders[r.order_id], db.session.get(ServiceOrderEvent, r.id), "return")
    db.session.commit()
    return {"orders": len(rows), "returned": len(returned)}
