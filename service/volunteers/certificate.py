"""Service certificates: a signed verification link (itsdangerous, the app's SECRET_KEY) and its QR code.

The link carries what the public may read and nothing else: the masked name, the stars, the approved hours
and the date of issue. Signed with its own salt, so neither a session cookie nor a CSRF token can pass for one,
and any edit of the link fails the check. The verification page reads only the link, never the database.
"""
from dataclasses import dataclass
from datetime import date

import segno
from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

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


def verify_url(token: str) -> str:
    """The public address of a certificate, as printed (PUBLIC_BASE_URL, the one people reach)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("volunteer_pages.verify", token=token)


def qr_svg(url: str) -> str:
    """The QR code of a URL as an SVG data: URI for an <img> (the page's CSP allows data: images), so no generated
    markup is ever marked safe."""
    return segno.make(url, error="m").svg_data_uri(scale=4)
