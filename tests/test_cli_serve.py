"""`hazard-snap serve` really serves: started as a process, answered over HTTP, stopped."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def test_serve_command_answers_health_and_pages(database_url, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "hazard-snap"
    env = os.environ | {"DATABASE_URL": database_url, "PHOTO_DIR": str(tmp_path)}
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
