"""A hotline's own Open311 key: it creates that hotline's orders and reads them, nothing else.

The key's account has the volunteer role and no area, so the scope rule every read goes through
(service.accounts.scope.visible) lets it see exactly the reports it is the reporter of, which are its orders
(orders.take makes the hotline's account their reporter); its token opens /open311/ only. Issuing a key again
gives the same account a new key (the old one stands until `hazard-snap apikeys revoke`).
"""
import secrets

from sqlalchemy import select, update

from service.accounts import auth
from service.bodies.models import Body
from service.core.db import db
from service.core.models import Report, User
from service.hotline.models import HotlineOrder


def issue(body: Body, days: int | None = None) -> tuple[User, str]:
    """A new key for this hotline (committed); its orders taken before the key now belong to its account."""
    if body.inbound_user_id is None:
        user, key = auth.create_account(f"{body.name}（热线接口）", auth.KEY_ACCOUNT_PREFIX + secrets.token_hex(6),
                                        "volunteer", None, with_token=True, days=days, open311_only=True)
        body = db.session.get(Body, body.id, with_for_update=True)
        body.inbound_user_id = user.id
    else:
        user = db.session.get(User, body.inbound_user_id)
        key = auth.issue_token(user, days, open311_only=True)
    taken = select(HotlineOrder.report_id).where(HotlineOrder.body_id == body.id)
    db.session.execute(update(Report).where(Report.id.in_(taken), Report.reporter_id.is_(None))
                       .values(reporter_id=user.id))
    db.session.commit()
    return user, key
