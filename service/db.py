"""The database handle shared by the app, the CLI and Alembic, and the health check that pings it."""
from flask import Blueprint, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, text

# Stable constraint names so Alembic revisions can drop what they create.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))


def engine_options(config) -> dict:
    """The engine's options; behind a transaction-mode pooler (DATABASE_POOLED), no server-side prepared
    statements: PgBouncer before 1.21 hands each transaction to any server connection, where a statement
    psycopg prepared on another one does not exist (or one of the same name already does)."""
    options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
    if config["DATABASE_POOLED"]:
        options["connect_args"] = {**options.get("connect_args", {}), "prepare_threshold": None}
    return options
health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """Report whether the app and its database answer."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any DB failure means unhealthy, whatever the driver raised
        db.session.rollback()
        return jsonify(status="degraded", db="down"), 503
    return jsonify(status="ok", db="ok")


def copy_rows(table: str, columns, rows, progress=None, types=None) -> None:
    """COPY rows into a table through the session's connection (a bulk import's staging), telling progress(n)
    every 1000 rows."""
    raw = db.session.connection().connection.driver_connection  # psycopg 3: COPY needs the driver's cursor
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        if types:
            copy.set_types(list(types))
        for n, row in enumerate(rows, start=1):
            copy.write_row(row)
            if progress and n % 1000 == 0:
                progress(1000)
    if progress:
        progress(len(rows) % 1000)
