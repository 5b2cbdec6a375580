"""The notification outbox: worded messages written with the event that causes them, delivered later with retries.

Each area words its own messages (reports/notices.py, orders/notices.py, receipts/notices.py) and queues them
with enqueue_worded; the outbox knows nothing of reports.

Every HTTP request goes through service.core.outbound (http/https only, public hosts unless listed, no
redirect to another host, a timeout and a size cap). Webhooks receive the text-message JSON that WeCom and
DingTalk group robots accept; e-mail goes
through SMTP; a text message to one person (a volunteer's phone) goes to the SMS gateway at SMS_GATEWAY_URL
as JSON {"phone", "text"}, and waits in the outbox until one is configured. Every try is recorded; a failed
one is retried with exponential backoff (capped),
forever, so a receiver that is down for a while loses nothing.
"""
import json
import smtplib
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select

from service.core import clock, outbound
from service.core.db import db
from service.core.models import Area
from service.notify.models import AreaContact, Notification, NotificationAttempt


def add_contact(area: Area, channel: str, target: str) -> None:
    """Send an area's notifications to one more webhook or e-mail address, committed."""
    db.session.add(AreaContact(area_id=area.id, channel=channel, target=target))
    db.session.commit()


def area_contacts(area_codes: Iterable[str]) -> list[tuple[str, str]]:
    """(channel, target) of every contact of the given areas, each once."""
    return db.session.execute(
        select(AreaContact.channel, AreaContact.target).join(Area, Area.id == AreaContact.area_id)
        .where(Area.code.in_(list(area_codes))).distinct()
    ).all()


def enqueue_worded(contacts: list[tuple[str, str]], subject: str, text: str, ref: dict, **source) -> int:
    """Add one outbox row per contact for a message its area worded; `source` is the event that causes it
    (event=... or order_event_id=...), in the same transaction."""
    # Due at once by the clock deliver_one compares with (Python's), not the database's now().
    due = clock.now()
    for channel, target in contacts:
        db.session.add(Notification(channel=channel, target=target, next_attempt_at=due,
                                    payload={"subject": subject, "text": text, **ref}, **source))
    return len(contacts)


def _send_webhook(url: str, payload: dict) -> str:
    body = json.dumps({"msgtype": "text", "text": {"content": payload["text"]}}, ensure_ascii=False).encode()
    resp = outbound.post_json(url, body, timeout=current_app.config["NOTIFY_TIMEOUT_S"])
    answer = resp.body.decode("utf-8", "replace")
    try:  # chat robots answer 200 with {"errcode": N} on refusal
        errcode = json.loads(answer).get("errcode", 0)
    except (ValueError, AttributeError):
        errcode = 0
    if errcode:
        raise RuntimeError(f"robot refused: {answer[:200]}")
    return f"HTTP {resp.status}"


def _send_email(address: str, payload: dict) -> str:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg["SMTP_FROM"], address, payload["subject"]
    # One Message-ID per outbox row: a retry after a lost answer is recognisable as the same message.
    msg["Message-ID"] = payload["message_id"]
    msg.set_content(payload["text"])
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["NOTIFY_TIMEOUT_S"]) as smtp:
        smtp.send_message(msg)
    return "accepted by SMTP server"


def _send_sms(phone: str, payload: dict) -> str:
    url = current_app.config["SMS_GATEWAY_URL"]
    if not url:
        raise RuntimeError("no SMS gateway configured (SMS_GATEWAY_URL); kept for when one is")
    body = json.dumps({"phone": phone, "text": payload["text"]}, ensure_ascii=False).encode()
    return f"HTTP {outbound.post_json(url, body, timeout=current_app.config['NOTIFY_TIMEOUT_S']).status}"


SENDERS = {"webhook": _send_webhook, "email": _send_email, "sms": _send_sms}


def register_channel(channel: str, sender) -> None:
    """Let an area above deliver its own kind of outbox row (service/bodies: a report POSTed to a body's Open311
    endpoint). sender(target, payload) returns a detail or raises; what it writes commits with the row's state."""
    if channel in SENDERS and SENDERS[channel] is not sender:
        raise ValueError(f"outbox channel {channel} is taken")
    SENDERS[channel] = sender


def message_id(notification_id: int) -> str:
    return f"<notification-{notification_id}@hazard-snap>"


def _backoff(attempts: int) -> timedelta:
    cfg = current_app.config
    return timedelta(seconds=min(cfg["NOTIFY_BACKOFF_S"] * 2 ** (attempts - 1), cfg["NOTIFY_MAX_BACKOFF_S"]))


def deliver_one(now: datetime) -> Notification | None:
    """Try the next due notification (locked, so several workers can run); return it or None."""
    n = db.session.scalar(
        select(Notification).where(Notification.status == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id).limit(1).with_for_update(skip_locked=True)
    )
    if n is None:
        db.session.rollback()
        return None
    n.attempts += 1
    try:
        detail, ok = SENDERS[n.channel](n.target, n.payload | {"message_id": message_id(n.id)}), True
    except Exception as e:  # noqa: BLE001 - whatever a receiver does, record it and back off; never stall the queue
        detail, ok = f"{type(e).__name__}: {e}"[:1000], False
    db.session.add(NotificationAttempt(notification_id=n.id, ok=ok, detail=detail, attempted_at=now))
    if ok:
        n.status, n.delivered_at, n.last_error = "sent", now, None
    else:
        n.last_error, n.next_attempt_at = detail, now + _backoff(n.attempts)
    db.session.commit()
    return n


def deliver_due(now: datetime | None = None, limit: int = 100) -> tuple[int, int]:
    """Deliver up to `limit` due notifications; return (sent, failed) counts."""
    sent = failed = 0
    for _ in range(limit):
        n = deliver_one(now or clock.now())
        if n is None:
            break
        sent, failed = (sent + 1, failed) if n.status == "sent" else (sent, failed + 1)
    return sent, failed
