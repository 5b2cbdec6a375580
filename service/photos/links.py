"""Links to a photo's derived copy that work for a system outside, signed and with an expiry.

A body a report is transferred to (service/bodies) and a system following our Open311 updates have no session
here, and an after-photo is served only within scope. A signed link names one derived copy (the public copy or the
thumbnail, never the original with its EXIF) and a time after which it stops working: HMAC-SHA256 under the
app's SECRET_KEY over the key and the expiry. Changing SECRET_KEY ends every link.
"""
import hashlib
import hmac
import time

from flask import current_app

from service.photos.storage import KEY_RE, PUBLIC_AREAS

DEFAULT_TTL_S = 14 * 86400  # long enough for a body to sign for, finish and send its answer


def _mac(key: str, expires: int) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"photo-link:{key}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(key: str, ttl_s: int = DEFAULT_TTL_S) -> str:
    """The absolute URL of a derived copy for a system outside, valid for ttl_s seconds."""
    match = KEY_RE.fullmatch(key)
    if match is None or match.group("area") not in PUBLIC_AREAS:
        raise ValueError("only a derived copy (p/ or t/) may be linked")
    expires = int(time.time()) + ttl_s
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/photos/{key}?expires={expires}&sig={_mac(key, expires)}"


def valid(key: str, args) -> bool:
    """Tell whether a request's expires and sig open this key: a derived copy, a true signature, not expired."""
    match = KEY_RE.fullmatch(key)
    try:
        expires = int(args.get("expires", ""))
    except ValueError:
        return False
    sig = args.get("sig", "")
    return (match is not None and match.group("area") in PUBLIC_AREAS and expires >= time.time()
            and hmac.compare_digest(sig, _mac(key, expires)))
