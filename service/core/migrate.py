"""Create the database when missing, run Alembic migrations as the owner, and grant the app's role its rights."""
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from service.core.config import ROOT


def ensure_database(url: str) -> bool:
    """Create the database named in the URL if it does not exist; return True when created."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            return not exists
    finally:
        admin.dispose()


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


# The service never rewrites history, and never needs to write the schema's bookkeeping tables.
APPEND_ONLY = frozenset({"report_event", "service_hour_entry", "service_hour_decision", "service_order_event",
                         "report_rating", "access_log"})
READ_ONLY = frozenset({"alembic_version", "spatial_ref_sys"})


class RoleError(Exception):
    """The application role cannot be set up safely; the message says what to do."""


def _quote(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _ensure_role(conn, role: str, password: str | None) -> bool:
    """Create the login role if missing (needs CREATEROLE); return True when created."""
    if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        return False
    secret = " PASSWORD '" + password.replace("'", "''") + "'" if password else ""
    try:  # several test runs may race to create the same role
        conn.exec_driver_sql(f"CREATE ROLE {_quote(conn, role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE{secret}")
    except DBAPIError as e:
        if getattr(e.orig, "sqlstate", "") not in ("42710", "23505"):  # duplicate_object, unique_violation
            raise RoleError(f"cannot create role {role} ({e.orig}); create it yourself: "
                            f"CREATE ROLE {role} LOGIN PASSWORD '...'") from e
        return False
    return True


def grant_app_role(owner_url: str, role: str, password: str | None = None) -> bool:
    """Give the application's role exactly what the service needs on every table; True if the role was created.

    The role owns nothing, so it cannot ALTER tables or disable the append-only trigger; on report_event it
    gets SELECT and INSERT only, so history is append-only by privilege as well as by trigger.
    """
    engine = create_engine(owner_url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if _owns_schema(conn, role):
                raise RoleError(f"role {role} is a superuser or a member of the schema owner: "
                                "give the app a role of its own")
            created = _ensure_role(conn, role, password)
        with engine.begin() as conn:  # one transaction: a running app never sees its rights half-granted
            _grant(conn, _quote(conn, role))
        return created
    finally:
        engine.dispose()


def _owns_schema(conn, role: str) -> bool:
    exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    return bool(exists) and conn.scalar(text("SELECT pg_has_role(:r, current_user, 'MEMBER')"), {"r": role})


def _grant(conn, role: str) -> None:
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                               " AND tableowner = current_user ORDER BY tablename")).all()
    for table in tables:
        quoted = _quote(conn, table)
        conn.execute(text(f"REVOKE ALL ON TABLE {quoted} FROM {role}"))
        rights = ("SELECT, INSERT" if table in APPEND_ONLY else "SELECT" if table in READ_ONLY
                  else "SELECT, INSERT, UPDATE, DELETE")
        conn.execute(text(f"GRANT {rights} ON TABLE {quoted} TO {role}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
