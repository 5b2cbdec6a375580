"""The reports' CSV and GeoJSON written by PostgreSQL itself (`COPY (…) TO STDOUT`): labels, local times and the
formula guard are SQL expressions built from the constants of core/sheets.py and reports/exports.py, so the bytes
only pass through Python.
The XLSX still takes the rows (ReportExport is also an iterator of them).
"""
import csv
import io
import json
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import Float, Select, String, Text, case, cast, func, literal, select
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement

from service.core.db import db
from service.core.sheets import FORMULA_STARTS, Labels, neutralise, stream
from service.reports.exports import HEADERS, select_rows
from service.reports.filters import ReportFilter


def reports(visible: ColumnElement, filt: ReportFilter, contacts: ColumnElement | None = None) -> "ReportExport":
    """The reports' export source: CSV and GeoJSON come from PostgreSQL's COPY, XLSX from the rows; the contact
    column is filled where `contacts` holds (reports/exports.py)."""
    return ReportExport(visible, filt, contacts)


COPY_BLOCK = 1 << 16  # bytes gathered from COPY before they are sent on


FORMULA_CODES = tuple(ord(c) for c in FORMULA_STARTS)


def _sql_text(column):
    """A text cell as the CSV needs it: '' for none, an apostrophe before a formula start (as neutralise()).
    The first character is compared by its code (ascii(): integers), not as a one-character string: six text
    comparisons a cell were the CSV's largest cost."""
    value = func.coalesce(column, "")
    return case((func.ascii(column).in_(FORMULA_CODES), literal("'") + value), else_=value)


def _sql_local(column):
    """localtime.sql_show(): the local time to the minute, as the first 16 characters of the timestamp's own text,
    which _copy has PostgreSQL print in the local zone and ISO style. A bare COPY prints every timestamp so;
    to_char() and timezone() on top of it cost more than the rest of the row."""
    return func.coalesce(func.substr(cast(column, Text), 1, 16), "")


def _sql_label(names: dict, column):
    """A code's name for people, as a CASE over the codes (an unknown code shows as itself). A CASE of constants
    costs a few comparisons per row; a JSON map sent with the query was parsed again for every row."""
    return case(names, value=column, else_=column) if names else column


def _sql_coordinate(value):
    """A coordinate to 7 decimals as a float (printed shortest, as Python's round(x, 7) is), not as numeric."""
    return func.round(value * SEVEN) / SEVEN


SEVEN = literal(10_000_000.0, Float)


class ReportExport:
    """The reports matching a scope and a filter: rows for Python writers, or CSV/GeoJSON that PostgreSQL writes."""

    def __init__(self, visible: ColumnElement, filt: ReportFilter, contacts: ColumnElement | None = None):
        self.visible, self.filt, self.contacts, self.n = visible, filt, contacts, 0

    def _rows(self) -> Select:
        return select_rows(self.visible, self.filt, self.contacts)

    def __iter__(self) -> Iterator[Row]:
        for row in stream(self._rows()):
            self.n += 1
            yield row

    def chunks(self, fmt: str) -> Iterator[bytes]:
        if fmt == "csv":
            head = io.StringIO()
            csv.writer(head, lineterminator="\n").writerow(neutralise(str(h) for h in HEADERS))
            yield ("\ufeff" + head.getvalue()).encode()
            yield from self._copy(self._csv_select(), "(FORMAT csv)")
        else:
            yield b'{"type":"FeatureCollection","features":[\n'
            # One JSON text per line; CSV with control characters as quote and delimiter never quotes it, because
            # JSON escapes every control character: the lines arrive exactly as PostgreSQL wrote them.
            yield from self._copy(self._geojson_select(), "(FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e')")
            yield b"]}"

    def _csv_select(self) -> Select:
        q = self._rows().subquery()
        labels = Labels()
        return select(q.c.id, _sql_local(q.c.created_at), _sql_label(labels.status, q.c.status),
                      _sql_label(labels.category, q.c.category),
                      func.coalesce(_sql_label(labels.subcategory, q.c.subcategory), ""),
                      _sql_label(labels.risk, q.c.risk_level), _sql_text(q.c.description), _sql_text(q.c.address),
                      q.c.committee_code, _sql_text(q.c.committee_name), q.c.town_code, _sql_text(q.c.town_name),
                      _sql_coordinate(q.c.lon), _sql_coordinate(q.c.lat), _sql_local(q.c.due_at),
                      _sql_local(q.c.rectified_at), _sql_text(q.c.contact))

    def _geojson_select(self) -> Select:
        """One Feature per row, as text joined in SQL: keys are our constants, every value goes through to_json
        (2.7x faster than json_build_object here, which checks and builds a value tree per row)."""
        q = self._rows().subquery()
        labels = Labels()

        def value(column):  # a JSON value: a string escaped by PostgreSQL, or null
            return func.coalesce(cast(func.to_json(column), String), "null")

        def iso(column):  # as Python's isoformat() of a UTC time
            return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')

        properties = [
            ("status", q.c.status), ("status_label", _sql_label(labels.status, q.c.status)),
            ("category", q.c.category), ("category_name", _sql_label(labels.category, q.c.category)),
            ("subcategory", q.c.subcategory), ("subcategory_name", _sql_label(labels.subcategory, q.c.subcategory)),
            ("risk_level", q.c.risk_level), ("risk_level_name", _sql_label(labels.risk, q.c.risk_level)),
            ("description", q.c.description), ("address", q.c.address),
            ("committee_code", q.c.committee_code), ("committee_name", q.c.committee_name),
            ("town_code", q.c.town_code), ("town_name", q.c.town_name),
            ("created_at", iso(q.c.created_at)), ("created_local", _sql_local(q.c.created_at)),
            ("due_at", iso(q.c.due_at)), ("rectified_at", iso(q.c.rectified_at)), ("contact", q.c.contact)]
        parts = [literal('{"type":"Feature","id":'), value(q.c.id),
                 literal(',"geometry":{"type":"Point","coordinates":['), cast(_sql_coordinate(q.c.lon), String),
                 literal(","), cast(_sql_coordinate(q.c.lat), String), literal(']},"properties":{')]
        for n, (key, column) in enumerate(properties):
            parts += [literal(("," if n else "") + json.dumps(key) + ":"), value(column)]
        parts.append(literal("}}"))
        first = func.row_number().over() == 1
        return select(func.concat(case((first, ""), else_=","), *parts))

    def _copy(self, query: Select, options: str) -> Iterator[bytes]:
        """Stream `COPY (query) TO STDOUT` in blocks; the parameters are bound by psycopg (COPY takes none)."""
        compiled = query.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
        raw = db.session.connection().connection.driver_connection
        block = bytearray()
        with raw.cursor() as cur:
            # the text of the timestamps _sql_local cuts: "YYYY-MM-DD HH:MI:SS+08" in the local zone
            cur.execute("SELECT set_config('DateStyle', 'ISO, YMD', true), set_config('TimeZone', %s, true)",
                        (current_app.config["LOCAL_TIMEZONE"],))
            with cur.copy(f"COPY ({compiled}) TO STDOUT WITH {options}", compiled.params) as copy:
                for data in copy:
                    block += data
                    if len(block) >= COPY_BLOCK:
                        yield bytes(block)
                        block.clear()
            self.n = max(cur.rowcount, 0)
        yield bytes(block)
