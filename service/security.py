"""Secure defaults: a real SECRET_KEY, Secure cookies over HTTPS, and security headers on every response."""
import base64
import hashlib
import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask.sessions import SecureCookieSessionInterface

MIN_SECRET_CHARS = 32
PUBLIC_SECRETS = frozenset({"dev-only-change-me"})  # the old built-in default, published in git history
# Folium pages carry inline <script>/<style> blocks from folium's own templates; they are allowed by hash.
FOLIUM_ENDPOINTS = frozenset({"maps.hazard_map", "areas.preview_import"})
_INLINE = re.compile(r"<(script|style)(\s[^>]*)?>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_DATA_BLOCK = re.compile(r"<script[^>]*\btype=[\"']application/json", re.IGNORECASE)


class ConfigError(RuntimeError):
    """The configuration is unsafe to serve with; the message says how to fix it."""


def init_app(app: Flask) -> None:
    require_secret_key(app)
    app.session_interface = SchemeAwareSessionInterface()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    tile_sources = " ".join(sorted(tile_hosts(app.config["MAP_TILES_URL"], app.config["AMAP_TILES_URL"])))
    app.after_request(lambda response: add_security_headers(response, tile_sources))


def require_secret_key(app: Flask) -> None:
    """Refuse to run with a missing, short or public SECRET_KEY unless in development or tests."""
    key = app.config.get("SECRET_KEY") or ""
    if len(key) >= MIN_SECRET_CHARS and key not in PUBLIC_SECRETS:
        return
    if app.testing or app.config.get("HAZARD_ENV") == "development":
        if not key:  # a key per process: sessions end at restart, nothing forgeable is published
            app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    raise ConfigError(
        "SECRET_KEY is missing, shorter than 32 characters or a published default, so anyone could forge "
        "a session cookie. Run `make run` once (it writes var/secret_key, mode 0600), or set SECRET_KEY or "
        "SECRET_KEY_FILE to a random value, e.g. `python3 -c 'import secrets; print(secrets.token_hex(32))'`. "
        "For local development only, set HAZARD_ENV=development."
    )


class SchemeAwareSessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS (ProxyFix sets the scheme)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookie_secure()


def cookie_secure() -> bool:
    """Tell whether cookies set on this response should carry the Secure flag."""
    return bool(current_app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def csp_nonce() -> str:
    """Return this response's CSP nonce, for the rare inline <script nonce=...> a template needs."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def tile_hosts(*urls: str) -> set[str]:
    """CSP sources for tile URL templates; a `{s}` subdomain label becomes a `*.` wildcard."""
    sources = set()
    for url in urls:
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue  # a relative template is served by us: 'self' covers it
        labels = parts.netloc.split(".")
        templated = [i for i, label in enumerate(labels) if "{" in label]
        host = ".".join(["*", *labels[templated[-1] + 1:]]) if templated else parts.netloc
        sources.add(f"{parts.scheme}://{host}")
    return sources


def content_security_policy(tile_sources: str, script: str, style: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {script}",
        f"style-src 'self' {style}",
        f"img-src 'self' data: blob: {tile_sources}".rstrip(),
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _hashes(html: str) -> tuple[str, str]:
    """Hash the inline scripts and styles of a folium page, up to its inert JSON data block.

    User data sits only in (or after) that data block, so a script smuggled into it is not hashed
    and the browser refuses to run it.
    """
    shell = html[:m.start()] if (m := _DATA_BLOCK.search(html)) else html
    found = {"script": [], "style": []}
    for tag, attrs, body in _INLINE.findall(shell):
        if "src=" not in (attrs or "").lower():
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            found[tag.lower()].append(f"'sha256-{digest}'")
    return " ".join(found["script"]), " ".join(found["style"])


def add_security_headers(response: Response, tile_sources: str) -> Response:
    """Set CSP, nosniff, framing and referrer headers (every response, errors included), and HSTS over HTTPS."""
    nonce = f"'nonce-{csp_nonce()}'"
    script = style = nonce
    if request.endpoint in FOLIUM_ENDPOINTS and response.mimetype == "text/html" and not response.direct_passthrough:
        script_hashes, style_hashes = _hashes(response.get_data(as_text=True))
        script, style = f"{nonce} {script_hashes}", f"{nonce} {style_hashes}"
    response.headers["Content-Security-Policy"] = content_security_policy(tile_sources, script, style)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.is_secure and current_app.config["HSTS_MAX_AGE"] > 0:
        response.headers["Strict-Transport-Security"] = strict_transport_security(current_app.config)
    return response


def strict_transport_security(cfg) -> str:
    """HSTS, sent only over HTTPS: request.is_secure believes X-Forwarded-Proto only behind PROXY_HOPS proxies
    (ProxyFix), so a forged header over plain http gets none; includeSubDomains only when configured."""
    return f"max-age={cfg['HSTS_MAX_AGE']}" + ("; includeSubDomains" if cfg["HSTS_INCLUDE_SUBDOMAINS"] else "")
