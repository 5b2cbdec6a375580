"""Spreadsheet exports for every area (CSV, XLSX): a streamed row query and the writers, one batch in memory.

Every writer takes an iterator of rows and keeps only one batch in memory, so 10^6 rows cost what 10^3 do. The
CSV and XLSX writers take a Table (headers, one row's cells, sheet name), so every area's export (reports,
volunteers' service hours) is written by the same code: the BOM, neutralised cells, sheets of SHEET_ROWS, local
times. A source that writes itself (an object with chunks(fmt), such as the reports' COPY export) is streamed
as it is.
"""
import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from flask import Response, send_file, stream_with_context
from sqlalchemy import Select
from sqlalchemy.engine import Row

from service.core import localtime
from service.core.db import db
from service.rules.categories import CATEGORIES, RISK_LEVELS
from service.rules.workflow import STATUS_LABELS

BATCH = 2000  # rows per server-side fetch and per chunk sent
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_ROWS = 1_000_000  # a sheet holds 1,048,576 rows: a larger export goes on over further sheets
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def stream(query: Select) -> Iterator[Row]:
    """Yield a query's rows through a server-side cursor, BATCH at a time."""
    # Core, not the ORM's session.execute: plain rows need none of its per-row loading work.
    result = db.session.connection().execution_options(yield_per=BATCH).execute(query)
    try:
        yield from result
    finally:
        result.close()


def neutralise(cells: Iterable) -> list:
    """Put an apostrophe before each text cell a spreadsheet would otherwise run as a formula (CSV and XLSX)."""
    return ["'" + c if c.__class__ is str and c.startswith(FORMULA_STARTS) else c for c in cells]


class Labels:
    """The names people read for codes, translated once per export (in the request's language), and the clock."""

    def __init__(self):
        self.status = {k: str(v) for k, v in STATUS_LABELS.items()}
        self.category = {k: str(c.name) for k, c in CATEGORIES.items()}
        self.subcategory = {k: str(v) for c in CATEGORIES.values() for k, v in c.subtypes}
        self.risk = {k: str(v) for k, v in RISK_LEVELS.items()}
        self.zone = localtime.zone()

    def of(self, status: str, category: str, sub: str | None, risk: str) -> tuple[str, str, str, str]:
        """Status, category, subcategory and risk names (an unknown code shows as itself)."""
        return (self.status.get(status, status), self.category.get(category, category),
                self.subcategory.get(sub, sub or ""), self.risk.get(risk, risk))

    def when(self, t: datetime | None) -> str:
        return localtime.show(t, self.zone) if t else ""


@dataclass(frozen=True)
class Table:
    """What a spreadsheet export writes: its headers, one row's cells (neutralised) and the sheet's name."""

    headers: tuple
    cells: Callable[[Row, Labels], list]
    sheet: object


def _batches(found: Iterable) -> Iterator[list]:
    rows_left = iter(found)
    while batch := list(islice(rows_left, BATCH)):
        yield batch


def csv_chunks(found: Iterable[Row], table: Table) -> Iterator[bytes]:
    """The CSV Excel opens cleanly: UTF-8 with a BOM, the headers in the reader's language, local times."""
    labels, buffer = Labels(), io.StringIO()
    out = csv.writer(buffer)
    buffer.write("\ufeff")
    out.writerow(neutralise(str(h) for h in table.headers))
    for batch in _batches(found):
        out.writerows(table.cells(row, labels) for row in batch)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


def write_xlsx(found: Iterable[Row], target, table: Table) -> None:
    """Write a workbook in openpyxl's write-only mode (rows go to disk as they come) to a path or binary file."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(value):  # XML 1.0 has no place for most control characters; tab, LF and CR stay
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    labels, book, sheet = Labels(), Workbook(write_only=True), None
    header = neutralise(str(h) for h in table.headers)
    for n, row in enumerate(found):
        if n % SHEET_ROWS == 0:
            sheet = book.create_sheet(str(table.sheet) + (f" {n // SHEET_ROWS + 1}" if n else ""))
            sheet.append(header)
        sheet.append([clean(c) for c in table.cells(row, labels)])
    if sheet is None:
        book.create_sheet(str(table.sheet)).append(header)
    book.save(target)


def xlsx_file(found: Iterable[Row], table: Table):
    """The workbook in an anonymous temporary file, rewound, to be streamed (it is gone once closed)."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        write_xlsx(found, handle, table)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


class Counted:
    """Count the rows that pass through, for the command's closing line."""

    def __init__(self, found: Iterable):
        self.found, self.n = found, 0

    def __iter__(self):
        for row in self.found:
            self.n += 1
            yield row


def _chunks(fmt: str, found: Iterable[Row], table: Table) -> Iterator[bytes]:
    """A source that writes itself (e.g. the reports' COPY export: CSV and GeoJSON from PostgreSQL), else the
    CSV writer."""
    return found.chunks(fmt) if hasattr(found, "chunks") else csv_chunks(found, table)


def write_file(fmt: str, found: Iterable[Row], path: str, table: Table) -> int:
    """Write an export to a file; return how many rows it holds."""
    counted = found if hasattr(found, "n") else Counted(found)  # a source that writes itself counts too
    if fmt == "xlsx":
        write_xlsx(counted, path, table)
    else:
        with open(path, "wb") as f:
            f.writelines(_chunks(fmt, counted, table))
    return counted.n


def download(fmt: str, found: Iterable[Row], table: Table, stem: str) -> Response:
    """The export as an HTTP download: CSV and GeoJSON streamed as written, XLSX from a temporary file."""
    name, media = filename(fmt, stem), MEDIA_TYPES[fmt]
    if fmt == "xlsx":  # a zip is written whole, to a temporary file, then streamed from disk
        return send_file(xlsx_file(found, table), mimetype=media, as_attachment=True, download_name=name)
    return Response(stream_with_context(_chunks(fmt, found, table)), mimetype=media,
                    headers={"Content-Disposition": f"attachment; filename={name}"})


def filename(fmt: str, stem: str) -> str:
    """A download name with the local time of the export, ASCII so every browser keeps it."""
    return f"{stem}-{datetime.now(localtime.zone()):%Y%m%d-%H%M}.{fmt}"
