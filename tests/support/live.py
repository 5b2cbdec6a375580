"""Talking to the live test server: the accounts' password and a session whose relative URLs go to it."""
import requests

PASSWORD = "correct-horse-7"


class LiveSession(requests.Session):
    """A requests session whose relative URLs go to the live server."""

    def __init__(self, base: str, token: str | None = None):
        super().__init__()
        self.base = base
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):
        return super().request(method, self.base + url if url.startswith("/") else url, *args, **kwargs)
