"""`hazard-snap serve` really serves: started as a process, answered over HTTP, stopped."""
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

EXE = Path(sys.executable).parent / "hazard-snap"


def _env(**extra) -> dict:
    """The environment of a production start: HAZARD_ENV unset, only the given settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE", "HAZARD_ENV")}
    return env | extra


def test_serve_refuses_to_start_without_a_secret_key(app_database_url, tmp_path):
    done = subprocess.run([str(EXE), "serve"], env=_env(DATABASE_URL=app_database_url, PHOTO_DIR=str(tmp_path),
                                                        SECRET_KEY_FILE=str(tmp_path / "absent")),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr and "make run" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_command_answers_health_and_pages(app_database_url, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = EXE
    env = _env(DATABASE_URL=app_database_url, PHOTO_DIR=str(tmp_path), SECRET_KEY=secrets.token_hex(32))
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        while True:
            try:
                health = requests.get(base + "/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok", "db": "ok"}
        assert "上报火灾隐患" in requests.get(base + "/report", timeout=5).text
        assert requests.get(base + "/map", timeout=5, allow_redirects=False).status_code == 302
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/report" in output
