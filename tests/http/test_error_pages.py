"""People get an error page in Chinese; API callers get JSON. Never a bare 500."""
from service import create_app


def test_a_missing_page_is_an_html_page_and_a_missing_api_resource_is_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "找不到该资源" in page.text and '<html lang="zh-CN">' in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json["error"]["code"] == "not_found"
    english = client.get("/no-such-page?lang=en")
    assert english.status_code == 404 and 'lang="en"' in english.text


def test_an_unexpected_failure_is_a_page_for_people_and_json_for_the_api(app):
    broken = create_app({**app.config, "TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    @broken.get("/boom")
    def boom():
        raise RuntimeError("boom")

    @broken.get("/api/v1/boom")
    def api_boom():
        raise RuntimeError("boom")

    client = broken.test_client()
    page = client.get("/boom")
    assert page.status_code == 500 and page.mimetype == "text/html" and "服务器内部错误" in page.text
    assert "boom" not in page.text
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and api.json["error"]["code"] == "internal"
