"""Issue 27 item 12: what an outside review found but did not confirm, measured and capped (bench/open311.py,
bench/uploads_rss.py)."""
import io
import json
import re
import socket
from urllib.parse import urlsplit

from flask import request

from service import create_app
from tests.support.open311 import V2, errors_of


def test_open311_anonymous_pages_are_capped_and_reads_limited(anon_http, http, app, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN311_READS_PER_MINUTE", 7)  # the five anonymous reads below, then two
    for params, code in (({"page_size": 101}, 400), ({"page_size": 100, "page": 101}, 400),
                         ({"page_size": 1, "page": 1_000_000}, 400)):
        r = anon_http.get(f"{V2}/requests.json", params=params)
        [(status, description)] = errors_of(r, "json")
        assert r.status_code == status == code and re.search("[\u4e00-\u9fff]", description), r.text
    assert "start_date" in errors_of(anon_http.get(f"{V2}/requests.xml", params={"page": 200}), "xml")[0][1]
    assert anon_http.get(f"{V2}/requests.json", params={"page_size": 100, "page": 100}).status_code == 200
    # an api_key caller keeps the spec's 1000 rows a page, within the same depth
    assert http.get(f"{V2}/requests.json", params={"page_size": 1000, "page": 10}).status_code == 200
    assert http.get(f"{V2}/requests.json", params={"page_size": 1000, "page": 11}).status_code == 400
    statuses = [anon_http.get(f"{V2}/requests.json").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]  # refused pages counted as well
    r = anon_http.get(f"{V2}/servicerequestupdates.xml")
    assert r.status_code == 429 and "api_key" in errors_of(r, "xml")[0][1]
    assert http.get(f"{V2}/requests.json").status_code == 200  # an api_key is not limited here


def test_hsts_only_over_https_and_a_forwarded_scheme_only_behind_a_proxy(app, app_database_url, photo_dir):
    plain = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})  # no proxy configured
    assert "Strict-Transport-Security" not in plain.headers
    tls = app.test_client().get("/login", base_url="https://localhost")
    assert tls.headers["Strict-Transport-Security"] == "max-age=31536000"
    proxied = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app_database_url, "PHOTO_DIR": str(photo_dir),
                          "PROXY_HOPS": 1, "HSTS_MAX_AGE": 600, "HSTS_INCLUDE_SUBDOMAINS": True})
    forwarded = proxied.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert forwarded.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
    assert "Strict-Transport-Security" not in proxied.test_client().get("/login").headers  # plain http


def test_multipart_files_are_spooled_to_disk_and_an_oversized_body_is_refused_unread(app, live_server):
    body = b"--b\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.jpg\"\r\n\r\n" + \
        b"x" * 2**20 + b"\r\n--b--\r\n"
    with app.test_request_context("/api/v1/reports", method="POST", data=body,
                                  content_type="multipart/form-data; boundary=b"):
        stream = request.files["photos"].stream
        assert not isinstance(stream, io.BytesIO) and stream.fileno() >= 0  # a temporary file, not RAM
    host, port = urlsplit(live_server).hostname, urlsplit(live_server).port
    with socket.create_connection((host, port), timeout=10) as sock:  # announce 100 MB, send none of it
        sock.sendall(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b"
                     b"\r\nContent-Length: 104857600\r\nConnection: close\r\n\r\n")
        answer = sock.makefile("rb").read().decode()
    assert answer.startswith("HTTP/1.1 413")
    assert "上传内容过大" in json.loads(answer.split("\r\n\r\n", 1)[1])["error"]["message"]
