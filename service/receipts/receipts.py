"""A report's receipt: a short number to quote and a private tracking link, for a resident without an account.

The link's token is derived from the report id with the app's SECRET_KEY (HMAC-SHA256), so a phone that lost
the first answer and resends the report (same client_report_id) is handed the same link again; the database
keeps only the token's SHA-256, so a copy of the database alone cannot open any link. Revoking a receipt is
final: its link is a 404 from then on, and a resend no longer returns it.

Updates: a contact the resident left (an e-mail address, or a mainland mobile number for text messages) is
where status changes are sent (service.receipts.notices), once it is confirmed by a one-time code
(service.receipts.verification); other text in the contact field gets no updates.
"""
import base64
import hashlib
import hmac
import re
import secrets

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from service.accounts.auth import token_digest
from service.core import clock
from service.core.db import db
from service.core.errors import ApiError, Invalid
from service.core.models import Report
from service.photos.redact import published
from service.receipts import verification
from service.receipts.models import ReportReceipt
from service.reports.queries import is_overdue
from service.rules.workflow import CLOCK_RUNNING

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read out on the phone without mistakes
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
MOBILE = re.compile(r"1[3-9][0-9]{9}")


def token_for(report_id) -> str:
    """The tracking token of a report (unguessable without the SECRET_KEY)."""
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"receipt:{report_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def new_number() -> str:
    """A short receipt number such as MH-7K3Q-9XPA (31^8 ≈ 8.5 × 10^11 of them)."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"MH-{chars[:4]}-{chars[4:]}"


def new_receipt(report_id) -> ReportReceipt:
    """A receipt row for a report made elsewhere than the upload (a hotline order), added by the caller in its
    own transaction; no code is sent (the caller's number came from the hotline, not typed by a stranger)."""
    return ReportReceipt(report_id=report_id, number=new_number(), token_hash=token_digest(token_for(report_id)))


def tracking_link(report_id) -> str:
    """The tracking page's public address (PUBLIC_BASE_URL), for a message sent outside any request."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/track/{token_for(report_id)}"


def notify_target(contact: str | None) -> tuple[str, str] | tuple[None, None]:
    """Where updates go: the first e-mail address in the contact, else the first mainland mobile number."""
    words = (contact or "").replace("，", " ").replace(",", " ").split()
    for pattern, channel in ((EMAIL, "email"), (MOBILE, "sms")):
        found = next((w for w in words if pattern.fullmatch(w)), None)
        if found:
            return channel, found
    return None, None


def ensure(report: Report) -> dict | None:
    """The receipt of an anonymous report as the API returns it, made on first call; None once revoked.
    Made, it sends a code to the contact the report names (or points updates at it, if confirmed before);
    a code limit reached leaves the receipt without updates, which the tracking page can ask for later."""
    receipt = db.session.get(ReportReceipt, report.id)
    for _attempt in range(3):
        if receipt is not None:
            break
        db.session.add(ReportReceipt(report_id=report.id, number=new_number(),
                                     token_hash=token_digest(token_for(report.id))))
        try:
            db.session.commit()
        except IntegrityError:  # a concurrent resend made it first, or (rarely) the number was taken
            db.session.rollback()
        else:
            receipt = db.session.get(ReportReceipt, report.id)
            _first_updates(receipt, report.contact)
        receipt = db.session.get(ReportReceipt, report.id)
    token = token_for(report.id)
    if receipt is None or receipt.revoked_at is not None or receipt.token_hash != token_digest(token):
        return None  # revoked, or made under an earlier SECRET_KEY: that link still works, this one would not
    return {"number": receipt.number, "tracking_url": url_for("receipts.track", token=token, _external=True),
            "updates": updates_state(receipt)}


def _first_updates(receipt: ReportReceipt, contact: str | None) -> None:
    channel, target = notify_target(contact)
    if channel is None:
        return
    try:
        verification.request(receipt, channel, target, receipt.number)
    except ApiError:  # a limit reached: the report and its receipt stand, without updates for now
        db.session.rollback()
        return
    db.session.commit()


def updates_state(receipt: ReportReceipt) -> str:
    """"on" (updates go to a confirmed address), "code_sent" (a code waits to be typed) or "off"."""
    if verification.pending(receipt) is not None:
        return "code_sent"
    return "on" if receipt.notify_channel else "off"


def set_updates(receipt: ReportReceipt, contact: str) -> str:
    """Send updates to the contact typed on the tracking page (after its code, unless confirmed before), or
    stop them (an empty contact); returns "on", "code_sent" or "off", committed. Bad input or a limit is a
    refusal and nothing changes."""
    if not contact:
        receipt.notify_channel = receipt.notify_target = None
        db.session.commit()
        return "off"
    channel, target = notify_target(contact)
    if channel is None:
        raise Invalid("bad_contact", _("请填写有效的手机号（11 位）或电子邮箱。"))
    state = "on" if verification.request(receipt, channel, target, receipt.number) == "confirmed" else "code_sent"
    db.session.commit()
    return state


def by_token(token: str) -> ReportReceipt | None:
    """The live receipt a tracking token opens, or None."""
    return db.session.scalar(select(ReportReceipt).where(
        ReportReceipt.token_hash == token_digest(token), ReportReceipt.revoked_at.is_(None)))


def revoke(receipt: ReportReceipt) -> None:
    """End the link for good, and with it the updates."""
    db.session.execute(update(ReportReceipt).where(ReportReceipt.report_id == receipt.report_id).values(
        revoked_at=clock.now(), notify_channel=None, notify_target=None))
    db.session.commit()


def masked(receipt: ReportReceipt) -> str:
    """Where updates go, shown without giving the whole address or number away."""
    return verification.mask(receipt.notify_channel, receipt.notify_target)


def progress(report: Report) -> dict:
    """What the tracking page shows: status, committee, deadline, the steps' times and the after-photos once
    rectified; nothing staff wrote and no one's name but the committee's."""
    shown_after = report.status in ("rectified", "verified")
    moves = [e for e in report.events if e.kind == "transition"]
    # A report handed to a body outside the programme names it (the transfer event's data, service/bodies).
    body = moves[-1].data.get("body_name") if moves and report.status == "transferred" and moves[-1].data else None
    return {
        "status": report.status,
        "committee": report.committee.name,
        "transferred_to": body,
        "due_at": report.due_at if report.status in CLOCK_RUNNING else None,
        "overdue": is_overdue(report),
        "steps": [(e.to_status, e.created_at, (e.data or {}).get("body_name")) for e in moves],
        "after_photos": [p.id for p in published(report.photos) if p.role == "after"] if shown_after else [],
    }
