"""Running the service on real machines: Prometheus metrics, JSON logs with request ids, read-replica routing,
backup and restore, and the gunicorn settings (give gunicorn this folder's gunicorn_conf.py by path)."""
