"""A request's photo given as `media_url`: fetched only from a host on the allow-list (OPEN311_MEDIA_HOSTS).

With the list empty (the default) nothing is ever fetched and a media_url alone is a 400 asking for the upload.
A listed host is one the district trusts (its own 311 platform's media server): the URL must name it exactly
(host, or host:port); it is fetched through service.core.outbound with no redirect followed (they could lead
anywhere), up to the photo byte limit and within OPEN311_MEDIA_TIMEOUT_S, and then it goes through the same photo
checks as an upload.
"""
import io
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from service.core import outbound
from service.core.errors import Malformed, TooLarge


def allowed(url: str) -> bool:
    """Tell whether a media_url names an allow-listed host over HTTP(S)."""
    hosts = current_app.config["OPEN311_MEDIA_HOSTS"]
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # e.g. a port that is not a number
        return False
    return parts.scheme in ("http", "https") and bool(host) and (host in hosts or netloc in hosts)


def fetch(url: str) -> FileStorage:
    """The photo at an allow-listed media_url, as an upload; a 400 (or 413) naming the way out otherwise."""
    if not allowed(url):
        raise Malformed("media_url_not_fetched",
                       _("本服务只下载允许列表中主机的 media_url，请以 multipart 文件字段 media 上传隐患照片。"))
    limit, cfg = current_app.config["MAX_PHOTO_BYTES"], current_app.config
    try:  # the listed media hosts are the district's own, so they may be on its private network
        answer = outbound.request("GET", url, timeout=cfg["OPEN311_MEDIA_TIMEOUT_S"], max_bytes=limit,
                                  allow=frozenset(cfg["OPEN311_MEDIA_HOSTS"]), redirects=0)
        if answer.status != 200:
            raise outbound.OutboundError(f"HTTP {answer.status}")
    except outbound.TooLarge:
        raise TooLarge("photo_too_large",
                       _("单张照片不能超过 %(mb)s MB，请压缩后重试。", mb=limit // 2**20)) from None
    except outbound.OutboundError as e:
        current_app.logger.info("media_url %s not fetched: %s", url, e)
        raise Malformed("media_url_unreachable",
                       _("无法下载 media_url，请稍后重试，或以 multipart 文件字段 media 上传隐患照片。")) from None
    return FileStorage(io.BytesIO(answer.body), filename=urlsplit(url).path.rsplit("/", 1)[-1] or "media")
