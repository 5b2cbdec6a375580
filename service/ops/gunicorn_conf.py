"""gunicorn settings: `gunicorn -c service/ops/gunicorn_conf.py --bind 127.0.0.1:8000 'service:create_app()'`.

Give the file's path, not `python:service.ops.gunicorn_conf`: importing the package would import prometheus_client
before PROMETHEUS_MULTIPROC_DIR is set below, and each worker would then count only for itself.

Threaded workers (a slow upload does not hold up /healthz, see README), JSON logs like the app's, and
Prometheus in multiprocess mode: each worker writes its samples under PROMETHEUS_MULTIPROC_DIR (a fresh directory
per master unless given; a given one is emptied at start), a scrape sums them, and a dead worker's gauges go.
Command-line flags override these values.
"""
import os
import shutil
import tempfile
from pathlib import Path

worker_class = "gthread"
workers = 2
threads = 4
given_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
metrics_dir = given_dir or tempfile.mkdtemp(prefix="hazard-metrics-")
# Set before anything imports prometheus_client, which picks its file-backed values at import.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "service.ops.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "WARNING", "handlers": []},  # the app logs through its own handler (service/ops/logs.py)
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
}


def on_starting(server):
    for stale in Path(metrics_dir).glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess  # imported only once the directory is in the environment

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if not given_dir:
        shutil.rmtree(metrics_dir, ignore_errors=True)
