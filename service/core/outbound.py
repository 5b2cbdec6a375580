"""The one HTTP client every outbound request uses: chat-robot webhooks, the SMS gateway, Open311 media, and any
channel to come.

An address an operator or a caller typed may point anywhere, so each request is checked before it connects:
- only http and https (file:, ftp:, gopher: ... are refused: `file:///etc/passwd` used to be read into
  notification.last_error);
- the host's addresses are resolved once and every one must be public: loopback, private, link-local (the cloud
  metadata address 169.254.169.254), shared, multicast, reserved and unspecified addresses are refused unless the
  operator lists the host in OUTBOUND_ALLOW_HOSTS (`host` or `host:port`); the connection then goes to the
  address that was checked, so a second DNS answer cannot swap in another;
- a redirect is followed only to the same scheme, host and port (at most MAX_REDIRECTS), never to another host;
- every request has a timeout, and an answer longer than its cap is refused rather than read on.
"""
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from flask import current_app

MAX_REDIRECTS = 3
DEFAULT_MAX_BYTES = 1 << 20


class OutboundError(Exception):
    """A request that was refused before it left, or whose answer was refused; the message says which."""


class TooLarge(OutboundError):
    """An answer longer than the caller's cap."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str


def allowed_hosts() -> frozenset[str]:
    return frozenset(h.strip().lower() for h in current_app.config["OUTBOUND_ALLOW_HOSTS"] if h.strip())


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _target(url: str, listed: frozenset[str]) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, address to connect to, path) of a URL this client may reach, else OutboundError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise OutboundError(f"not a URL: {e}") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https"):
        raise OutboundError(f"scheme {scheme or '(none)'!r} refused: only http and https")
    if not host:
        raise OutboundError("no host in the URL")
    if parts.username or parts.password:
        raise OutboundError("credentials in the URL refused")
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise OutboundError(f"host {host} not resolved: {e}") from None
    addresses = [info[4][0] for info in infos]
    if host not in listed and f"{host}:{port}" not in listed:
        inner = [a for a in addresses if not _public(a)]
        if inner:
            raise OutboundError(f"host {host} resolves to a non-public address ({inner[0]}): refused unless listed "
                                "in OUTBOUND_ALLOW_HOSTS")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, addresses[0], path


class _Pinned(http.client.HTTPConnection):
    """An HTTP connection to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """The same over TLS, with the certificate checked against the host's name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def check_endpoint(url: str) -> None:
    """Refuse, before it is stored, an endpoint a delivery could not reach under these rules, or one that is plain
    http to a host the operator did not list (a key sent in the clear): OutboundError says why."""
    listed = allowed_hosts()
    scheme, host, port, _address, _path = _target(url, listed)
    if scheme != "https" and host not in listed and f"{host}:{port}" not in listed:
        raise OutboundError(f"{url}: only https, unless the host is listed in OUTBOUND_ALLOW_HOSTS")


def _read(resp, max_bytes: int, until: float) -> bytes:
    """The answer's body, up to max_bytes + 1, refused when it takes past `until` (a body dripping a byte a
    second would otherwise hold the caller for as long as the socket timeout allows each byte)."""
    chunks, size = [], 0
    while size <= max_bytes:
        if time.monotonic() > until:
            raise OutboundError("answer too slow: the request's time ran out")
        chunk = resp.read1(min(64 << 10, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def request(method: str, url: str, *, body: bytes | None = None, headers: dict | None = None,
            timeout: float, max_bytes: int = DEFAULT_MAX_BYTES, allow: frozenset[str] = frozenset(),
            redirects: int = MAX_REDIRECTS) -> Answer:
    """Send one request under the rules above; `allow` adds hosts to OUTBOUND_ALLOW_HOSTS for this call, and
    `redirects` caps the same-host redirects followed (0: none, a 3xx is then the answer). The whole request,
    redirects and body included, takes at most about twice `timeout`."""
    listed = allowed_hosts() | {h.lower() for h in allow}
    until = time.monotonic() + 2 * timeout
    origin = None
    for hop in range(redirects + 1):
        scheme, host, port, address, path = _target(url, listed)
        if origin is not None and origin != (scheme, host, port):
            raise OutboundError(f"redirect to another host ({host}) not followed")
        origin = (scheme, host, port)
        conn = (_PinnedTLS if scheme == "https" else _Pinned)(host, port, address, timeout)
        try:
            conn.request(method, path, body=body, headers={"User-Agent": "hazard-snap", **(headers or {})})
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location") and hop < redirects:
                url = urljoin(url, resp.getheader("Location"))
                if resp.status == 303:
                    method, body = "GET", None
                continue
            data = _read(resp, max_bytes, until)
            if len(data) > max_bytes:
                raise TooLarge(f"answer longer than {max_bytes} bytes refused")
            return Answer(resp.status, data, resp.getheader("Content-Type") or "")
        except (OSError, http.client.HTTPException) as e:
            raise OutboundError(f"{type(e).__name__}: {e}") from None
        finally:
            conn.close()
    raise OutboundError(f"more than {redirects} redirects")


def post_json(url: str, payload: bytes, *, timeout: float, max_bytes: int = 64 << 10) -> Answer:
    """POST a JSON body; an answer outside 2xx is an OutboundError naming the status."""
    answer = request("POST", url, body=payload, headers={"Content-Type": "application/json; charset=utf-8"},
                     timeout=timeout, max_bytes=max_bytes)
    if not 200 <= answer.status < 300:
        raise OutboundError(f"HTTP {answer.status}: {answer.body[:200].decode('utf-8', 'replace')}")
    return answer
