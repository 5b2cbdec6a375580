"""Service certificates: a signed verification link (itsdangerous, the app's SECRET_KEY) and its QR code.

The link carries what the public may read and nothing else: the masked name, the stars, the approved hours
and the date of issue. Signed with its own salt, so neither a session cookie nor a CSRF token can pass for one,
and any edit of the link fails the check. The link only names the volunteer: the verification page shows the
hours and stars the ledger holds now (a correction since printing shows, beside the printed figures), and a
certificate whose account is disabled or gone is no longer valid (status()).
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import segno
from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from service.core.db import db
from service.core.models import User
from service.volunteers import stars
from service.volunteers.models import Volunteer

SALT = "volunteer-certificate"


@dataclass(frozen=True)
class Certificate:
    volunteer_id: int
    masked_name: str
    stars: int
    hours: str
    issued: date


def _signer() -> URLSafeSerializer:
    key = current_app.secret_key
    if not key:
        raise RuntimeError("SECRET_KEY is required to sign certificates")  # fail closed: never sign with nothing
    return URLSafeSerializer(key, salt=SALT)


def sign(cert: Certificate) -> str:
    return _signer().dumps([cert.volunteer_id, cert.masked_name, cert.stars, cert.hours, cert.issued.isoformat()])


def read(token: str) -> Certificate | None:
    """The certificate a link carries, or None when the link was not signed by us exactly as it is."""
    try:
        vid, name, stars, hours, issued = _signer().loads(token)
        return Certificate(int(vid), str(name), int(stars), str(hours), date.fromisoformat(issued))
    except (BadSignature, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class Status:
    """What a genuine link shows today: valid with the ledger's current figures, or revoked (no figures)."""
    valid: bool
    stars: int = 0
    hours: str = ""
    changed: bool = False  # the figures differ from those printed on the certificate


def status(cert: Certificate) -> Status:
    """The certificate's standing now: revoked when the account is disabled or erased or has no volunteer
    profile; else the approved hours and stars computed from the ledger."""
    user = db.session.get(User, cert.volunteer_id)
    if user is None or not user.active or db.session.get(Volunteer, cert.volunteer_id) is None:
        return Status(valid=False)
    summary = stars.summaries([cert.volunteer_id])[cert.volunteer_id]
    hours = hours_text(summary["approved_hours"])
    return Status(True, summary["stars"], hours, changed=(hours, summary["stars"]) != (cert.hours, cert.stars))


def hours_text(hours: float) -> str:
    """Hours as printed on a certificate: two decimals."""
    return f"{Decimal(str(hours)).quantize(Decimal('0.01')):f}"


def verify_url(token: str) -> str:
    """The public address of a certificate, as printed (PUBLIC_BASE_URL, the one people reach)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("volunteer_pages.verify", token=token)


def qr_svg(url: str) -> str:
    """The QR code of a URL as an SVG data: URI for an <img> (the page's CSP allows data: images), so no generated
    markup is ever marked safe."""
    return segno.make(url, error="m").svg_data_uri(scale=4)
