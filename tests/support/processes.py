"""Waiting for the servers tests start as processes (gunicorn, PgBouncer, moto, PostgreSQL standbys)."""
import socket
import time


def wait_for(check, what: str, seconds: float = 90):
    """Call check until it returns something true (returned), failing with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return result


def listening(port: int, proc, what) -> None:
    """Wait until 127.0.0.1:port accepts connections; fail with what() if proc exits first or 60 s pass."""
    def accepts() -> bool:
        assert proc.poll() is None, what()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(accepts, what, 60)
