"""A request's photo given as `media_url`: fetched only from a host on the allow-list (OPEN311_MEDIA_HOSTS).

With the list empty (the default) nothing is ever fetched and a media_url alone is a 400 asking for the upload.
A listed host is one the district trusts (its own 311 platform's media server): the URL must name it exactly
(host, or host:port), redirects are not followed (they could lead anywhere), the answer is read up to the photo
byte limit and within OPEN311_MEDIA_TIMEOUT_S, and then it goes through the same photo checks as an upload.
"""
import http.client
import io
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from service.core.errors import ApiError


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx is then an HTTPError: refused like any failure


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
        raise ApiError(400, "media_url_not_fetched",
                       _("本服务只下载允许列表中主机的 media_url，请以 multipart 文件字段 media 上传隐患照片。"))
    limit, cfg = current_app.config["MAX_PHOTO_BYTES"], current_app.config
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "hazard-snap"}),
                         timeout=cfg["OPEN311_MEDIA_TIMEOUT_S"]) as resp:
            data = resp.read(limit + 1)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        current_app.logger.info("media_url %s not fetched: %s", url, e)
        raise ApiError(400, "media_url_unreachable",
                       _("无法下载 media_url，请稍后重试，或以 multipart 文件字段 media 上传隐患照片。")) from None
    if len(data) > limit:
        raise ApiError(413, "photo_too_large", _("单张照片不能超过 %(mb)s MB，请压缩后重试。", mb=limit // 2**20))
    return FileStorage(io.BytesIO(data), filename=urlsplit(url).path.rsplit("/", 1)[-1] or "media")
