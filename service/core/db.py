"""The database handle shared by the app, the CLI and Alembic."""
from flask import g, has_request_context
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Stable constraint names so Alembic revisions can drop what they create.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class RoutingSession(Session):
    """A session that sends a request's reads to the replica when service/ops/replica.py chose it for the request."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and has_request_context() and g.get("read_replica"):
            return self._db.engines["replica"]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@event.listens_for(Engine, "handle_error")
def connection_lost(context) -> None:
    """Every SQLSTATE of class 08 is a lost connection, whatever its words: PgBouncer's "server conn crashed?"
    (08P01) after a primary fails is not among the messages the driver's dialect knows. Counted as a disconnect,
    the connection is dropped from the pool instead of rolled back at teardown, where a second error would turn
    the request's 503 into a 500 (found by bench/soak.py's failover)."""
    if str(getattr(context.original_exception, "sqlstate", "") or "").startswith("08"):
        context.is_disconnect = True


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING), session_options={"class_": RoutingSession})


def engine_options(config) -> dict:
    """The engine's options; behind a transaction-mode pooler (DATABASE_POOLED), no server-side prepared
    statements: PgBouncer before 1.21 hands each transaction to any server connection, where a statement
    psycopg prepared on another one does not exist (or one of the same name already does)."""
    options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
    if config["DATABASE_POOLED"]:
        options["connect_args"] = {**options.get("connect_args", {}), "prepare_threshold": None}
    return options


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
