"""A resident's contact is confirmed by a one-time code before anything else is sent to it.

Anyone can type any phone number or e-mail address into a report or onto a tracking page; without a check the
service would text or mail strangers on anyone's behalf. So the first message to an address the service has not
confirmed is a six-digit code, and nothing else goes there until the code is typed back on the tracking page.
Until then the receipt's notify_channel/notify_target stay as they were (empty, or the address confirmed
before), so receipts.notices has nowhere new to send.

An address confirmed once, for any report, is remembered as a keyed digest (VerifiedContact): a resident who
reports again is not asked again.

Limits, all within the last 24 hours (config CONTACT_CODE*): per report CONTACT_CODES_PER_REPORT codes, one at
most every CONTACT_CODE_INTERVAL_S; per address CONTACT_CODES_PER_ADDRESS, whichever reports asked; for the whole
service CONTACT_CODES_PER_DAY. A code lives CONTACT_CODE_TTL_MIN minutes, only the newest of a receipt counts, and
it allows CONTACT_CODE_TRIES wrong entries. It is kept as an HMAC only. Counting and inserting run under a lock
on the address, so two requests at once cannot both slip under a limit.
"""
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from service.core import clock
from service.core.db import db
from service.core.errors import Invalid, TooMany
from service.notify import outbox
from service.receipts.models import ContactCode, ReportReceipt, VerifiedContact

DAY = timedelta(days=1)


def _mac(message: str) -> str:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message.encode(), hashlib.sha256).hexdigest()


def _digest(channel: str, target: str) -> str:
    return _mac(f"contact:{channel}:{target.lower()}")


def _code_hash(code_id: int, code: str) -> str:
    return _mac(f"code:{code_id}:{code}")


def mask(channel: str | None, target: str | None) -> str:
    """An address shown without giving it away: 138****5678, r***@example.org."""
    target = target or ""
    if channel == "sms":
        return target[:3] + "****" + target[-4:]
    name, _at, host = target.partition("@")
    return f"{name[:1]}***@{host}" if host else ""


def is_verified(channel: str, target: str) -> bool:
    return db.session.get(VerifiedContact, _digest(channel, target)) is not None


@dataclass(frozen=True)
class Pending:
    """The code a receipt waits for: where it went (masked) and until when it may be typed."""
    to: str
    expires_at: datetime


def pending(receipt: ReportReceipt, now: datetime | None = None) -> Pending | None:
    """The receipt's newest code, if it is still unconfirmed, unexpired and not worn out by wrong entries."""
    code = _newest(receipt)
    now = now or clock.now()
    if code is None or code.confirmed_at is not None or code.expires_at <= now \
            or code.tries >= current_app.config["CONTACT_CODE_TRIES"]:
        return None
    return Pending(mask(code.channel, code.target), code.expires_at)


def _newest(receipt: ReportReceipt) -> ContactCode | None:
    return db.session.scalar(select(ContactCode).where(ContactCode.report_id == receipt.report_id)
                             .order_by(ContactCode.created_at.desc(), ContactCode.id.desc()).limit(1))


def request(receipt: ReportReceipt, channel: str, target: str, number: str) -> str:
    """Point the receipt's updates at an address: at once if it was confirmed before ("confirmed"), else send it
    a code and wait ("code_sent"). A limit reached is a 429 and nothing is stored. The caller commits."""
    if is_verified(channel, target):
        receipt.notify_channel, receipt.notify_target = channel, target
        return "confirmed"
    cfg = current_app.config
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"contact:{target.lower()}"})
    now = clock.now()
    last, per_report = db.session.execute(
        select(func.max(ContactCode.created_at), func.count())
        .where(ContactCode.report_id == receipt.report_id, ContactCode.created_at > now - DAY)).one()
    if last is not None and last > now - timedelta(seconds=cfg["CONTACT_CODE_INTERVAL_S"]):
        wait = int((last + timedelta(seconds=cfg["CONTACT_CODE_INTERVAL_S"]) - now).total_seconds()) + 1
        raise TooMany("code_too_soon", _("验证码刚刚发出，请查收；如未收到，请 %(s)d 秒后再获取。", s=wait))
    if per_report >= cfg["CONTACT_CODES_PER_REPORT"]:
        raise TooMany("codes_per_report", _("本条上报今天获取验证码的次数已达上限，请明天再试。"))
    per_address = db.session.scalar(select(func.count()).where(
        ContactCode.target == target, ContactCode.created_at > now - DAY))
    if per_address >= cfg["CONTACT_CODES_PER_ADDRESS"]:
        raise TooMany("codes_per_address", _("该手机号或邮箱今天接收验证码的次数已达上限，请明天再试。"))
    if db.session.scalar(select(func.count()).where(ContactCode.created_at > now - DAY)) \
            >= cfg["CONTACT_CODES_PER_DAY"]:
        raise TooMany("codes_per_day", _("今天发送的验证码已达上限，请明天再试；进展仍可随时在本页查看。"))
    code = f"{secrets.randbelow(10 ** 6):06d}"
    row = ContactCode(report_id=receipt.report_id, channel=channel, target=target, code_hash="",
                      created_at=now, expires_at=now + timedelta(minutes=cfg["CONTACT_CODE_TTL_MIN"]))
    db.session.add(row)
    db.session.flush()
    row.code_hash = _code_hash(row.id, code)
    with force_locale("zh_CN"):  # residents read Chinese, whatever language the page was in
        subject = _("火患随手拍：验证码")
        body = _("【火患随手拍】验证码 %(code)s，%(n)d 分钟内有效，用于接收隐患（回执号 %(number)s）的处理进展。"
                 "如非本人操作，请忽略本消息，您不会再收到任何通知。",
                 code=code, n=cfg["CONTACT_CODE_TTL_MIN"], number=number)
    outbox.enqueue_worded([(channel, target)], subject, body, {"report_id": str(receipt.report_id)},
                          contact_code_id=row.id)
    return "code_sent"


def confirm(receipt: ReportReceipt, typed: str) -> str:
    """Check a typed code against the receipt's newest one; right, the updates go to its address from now on
    and the address is remembered; committed. Wrong, expired or worn out is a refusal saying what to do, and a
    wrong entry's count is committed before it."""
    code = _newest(receipt)
    now = clock.now()
    tries = current_app.config["CONTACT_CODE_TRIES"]
    if code is None or code.confirmed_at is not None:
        raise Invalid("no_code", _("没有待验证的验证码，请先填写手机号或邮箱获取验证码。"))
    if code.expires_at <= now:
        raise Invalid("code_expired", _("验证码已过期，请重新获取。"))
    if code.tries >= tries:
        raise Invalid("code_worn_out", _("验证码输入错误次数过多，请重新获取。"))
    typed = (typed or "").strip()
    if not (typed.isascii() and typed.isdigit() and hmac.compare_digest(_code_hash(code.id, typed), code.code_hash)):
        code.tries += 1
        left = tries - code.tries
        db.session.commit()  # a wrong entry counts
        if left <= 0:
            raise Invalid("code_worn_out", _("验证码输入错误次数过多，请重新获取。"))
        raise Invalid("code_wrong",
                       _("验证码不正确，请核对短信或邮件中的 6 位数字（还可尝试 %(n)d 次）。", n=left))
    code.confirmed_at = now
    receipt.notify_channel, receipt.notify_target = code.channel, code.target
    db.session.execute(insert(VerifiedContact).values(digest=_digest(code.channel, code.target))
                       .on_conflict_do_nothing())
    db.session.commit()
    return mask(code.channel, code.target)


def resend(receipt: ReportReceipt, number: str) -> str:
    """Send a new code to the address the newest one went to (the limits apply); committed."""
    code = _newest(receipt)
    if code is None or code.confirmed_at is not None:
        raise Invalid("no_code", _("没有待验证的验证码，请先填写手机号或邮箱获取验证码。"))
    state = request(receipt, code.channel, code.target, number)
    db.session.commit()
    return state
