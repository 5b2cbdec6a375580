"""Helpers first written for tests/http/test_secure_defaults.py, now shared by several test modules."""
import re

import requests

from tests.support.live import PASSWORD


def _login(live_server: str, phone: str) -> requests.Session:
    s = requests.Session()
    page = s.get(live_server + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = s.post(live_server + "/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD},
               allow_redirects=False)
    assert r.status_code == 302
    return s

