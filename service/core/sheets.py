"""Spreadsheet exports for every area (CSV, XLSX): a streamed row query and the writers, one batch in memory.

Every writer takes an iterator of rows and keeps only one batch in memory, so 10^6 rows cost what 10^3 do. The
CSV and XLSX writers take a Table (headers, one row's cells, sheet name), so every area's export (reports,
volunteers' service hours) is written by the same code: the BOM, neutralised cells, sheets of SHEET_ROWS, local
times. A source that writes itself (an object with chunks(fmt), such as the reports' COPY export) is streamed
as it is.

Imports read the same two formats (read_rows: CSV in UTF-8 or GBK as Excel in Chinese saves it, or XLSX) into
(line, cells) pairs by the columns an area names (the volunteers' roster, the key sites' file); an area checks its
rows and reports the bad ones as BadRow (write_problems saves them for the person to work through).
"""
import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from operator import itemgetter
from pathlib import Path

from flask import Response, send_file, stream_with_context
from flask_babel import gettext as _
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
    return f"{stem}-{localtime.now():%Y%m%d-%H%M}.{fmt}"


def write_table(path: str, header: list[str], rows: Iterable[list], sheet_name: str,
                progress: Callable[[int], None] | None = None) -> int:
    """Write rows under a header to a CSV (UTF-8 with BOM, for Excel) or XLSX file, in the shape read_rows reads
    back; return how many rows were written."""
    if Path(path).suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(sheet_name)
        count = _append_all(sheet.append, header, rows, progress)
        book.save(path)
        return count
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        return _append_all(csv.writer(f).writerow, header, rows, progress)


def _append_all(append: Callable[[list], object], header: list[str], rows: Iterable[list],
                progress: Callable[[int], None] | None) -> int:
    append(header)
    count = 0
    for row in rows:
        append(row)
        count += 1
        progress and progress(1)
    return count


class SheetError(Exception):
    """The file as a whole cannot be read (format, encoding, headers); the message says what to fix."""


@dataclass(frozen=True)
class BadRow:
    line: int
    column: str
    reason: str


def read_rows(path: str, columns, required) -> list[tuple[int, tuple[str, ...]]]:
    """Read a table file (CSV or XLSX; columns: (field, header) pairs, English field names accepted as
    headers too) into (line number, texts in columns order) pairs; raise SheetError if unreadable."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        table = _csv_rows(Path(path).read_bytes())
    elif suffix == ".xlsx":
        table = _xlsx_rows(path)
    else:
        raise SheetError(_("只支持 .csv 或 .xlsx 文件，请另存为这两种格式之一后重试。"))
    header = next(table, None)
    if header is None:
        raise SheetError(_("文件是空的，请确认选择了正确的花名册文件。"))
    width = len(header[1])
    pick = itemgetter(*_positions(header[1], columns, required))  # a column the file lacks reads "" padding
    return [(line, pick(cells + [""] * (width + 1 - len(cells)) if len(cells) <= width else cells[:width] + [""]))
            for line, cells in table if any(c.strip() for c in cells)]


def _csv_rows(data: bytes) -> Iterable[tuple[int, list[str]]]:
    try:
        decoded = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        decoded = data.decode("gb18030", errors="replace")  # Excel in Chinese saves CSV as GBK
    reader = csv.reader(io.StringIO(decoded, newline=""))
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def _xlsx_rows(path: str) -> Iterable[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises several unrelated types for a damaged or fake workbook
        raise SheetError(_("无法读取该 Excel 文件，请确认它是 .xlsx 格式且未损坏。")) from e
    try:
        for n, values in enumerate(book.active.iter_rows(values_only=True), start=1):
            yield n, [cell_text(v) for v in values]
    finally:
        book.close()


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone or code typed as a number
    return str(value)


def _positions(header: list[str], columns, required) -> list[int]:
    """The column of each field in the file (len(header), the padding cell, for an absent optional one)."""
    by_name = {h: f for f, h in columns} | {f: f for f, _h in columns}
    found = {}
    for i, h in enumerate(header):
        found.setdefault(by_name.get(h.strip()), i)
    missing = [dict(columns)[f] for f in required if f not in found]
    if missing:
        raise SheetError(_("第 1 行缺少必填列：%(cols)s。请使用导出文件的表头。", cols="、".join(missing)))
    return [found.get(f, len(header)) for f, _h in columns]


def write_problems(path: str, bad: list[BadRow]) -> None:
    """Save the bad rows as a CSV a person can work through (行号, 列, 原因)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["行号", "列", "原因"])
        out.writerows([b.line, b.column, b.reason] for b in bad)
