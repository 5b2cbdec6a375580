"""The volunteer roster as a file (CSV or XLSX): reading, row-level validation, and export in the same shape."""
import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from flask_babel import gettext as _

from service.volunteers.registry import AVAILABILITY

# Roster columns: field, header as read and written. English field names are accepted as headers too.
COLUMNS = (("real_name", "姓名"), ("phone", "手机号"), ("committee_code", "居村委代码"), ("team", "服务队"),
           ("skills", "技能"), ("tags", "标签"), ("availability", "可服务时段"), ("active", "状态"))
REQUIRED = ("real_name", "phone", "committee_code")
HEADERS = dict(COLUMNS)
FIELDS = tuple(f for f, _h in COLUMNS)
PROGRESS_EVERY = 1000
ACTIVE_WORDS = {"在册": True, "": True, "是": True, "active": True, "1": True,
                "停用": False, "否": False, "inactive": False, "0": False}
LIST_SEPARATORS = re.compile(r"[;；、,，|]")
PHONE = re.compile(r"^1[3-9][0-9]{9}$")
FORMULA_STARTS = ("=", "+", "-", "@")
MAX_ITEMS, MAX_ITEM_CHARS, MAX_NAME_CHARS, MAX_TEAM_CHARS = 20, 30, 50, 100
AVAILABILITY_CODES = {label: code for code, label in AVAILABILITY.items()} | {c: c for c in AVAILABILITY}


class RosterError(Exception):
    """The file as a whole cannot be read (format, encoding, headers); the message says what to fix."""


@dataclass(frozen=True)
class BadRow:
    line: int
    column: str
    reason: str


def read_rows(path: str, columns=COLUMNS, required=REQUIRED) -> list[tuple[int, tuple[str, ...]]]:
    """Read a roster file (or another table of these columns: (field, header) pairs) into (line number,
    texts in columns order) pairs; raise RosterError if unreadable."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        table = _csv_rows(Path(path).read_bytes())
    elif suffix == ".xlsx":
        table = _xlsx_rows(path)
    else:
        raise RosterError(_("只支持 .csv 或 .xlsx 文件，请另存为这两种格式之一后重试。"))
    header = next(table, None)
    if header is None:
        raise RosterError(_("文件是空的，请确认选择了正确的花名册文件。"))
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
        raise RosterError(_("无法读取该 Excel 文件，请确认它是 .xlsx 格式且未损坏。")) from e
    try:
        for n, values in enumerate(book.active.iter_rows(values_only=True), start=1):
            yield n, [_cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value) -> str:
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
        raise RosterError(_("第 1 行缺少必填列：%(cols)s。请使用导出文件的表头。", cols="、".join(missing)))
    return [found.get(f, len(header)) for f, _h in columns]


def validate(rows: list[tuple[int, tuple[str, ...]]], committees: set[str],
             progress: Callable[[int], None] | None = None, check=None, headers=HEADERS
             ) -> tuple[list[tuple], list[BadRow]]:
    """Check every row; return COPY-ready tuples of the good rows and the problems of the bad ones.

    check(line, raw, context, seen) -> (problems as (field, reason), row) checks one row of another table
    (headers names its fields); the roster's own check, with the set of committee codes as context, by default.
    """
    good, bad, seen = [], [], {}
    for n, (line, raw) in enumerate(rows, start=1):
        problems, row = (check or _check_row)(line, raw, committees, seen)
        if problems:
            bad.extend(BadRow(line, headers[field], reason) for field, reason in problems)
        else:
            good.append(row)
        if progress and n % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
    if progress:
        progress(len(rows) % PROGRESS_EVERY)
    return good, bad


def _check_row(line: int, raw: tuple[str, ...], committees: set[str], seen: dict) -> tuple[list, tuple]:
    """Return the row's problems as (field, reason) and, when there are none, its COPY tuple."""
    if "\x00" in "".join(raw):
        return [("real_name", _("该行含有无效的控制字符，请删除后重试。"))], ()
    name, phone, code, team, skills, tags, times, active = map(str.strip, raw)
    problems = [(field, _("内容不能以 =、+、-、@ 开头，请删除开头的符号。"))
                for field, value in (("real_name", name), ("team", team), ("skills", skills), ("tags", tags))
                if value[:1] in FORMULA_STARTS]  # a spreadsheet would run it as a formula when opened
    phone = normalize_phone(phone)
    if not name or len(name) > MAX_NAME_CHARS:
        problems.append(("real_name", _("姓名不能为空且不超过 50 个字，请填写志愿者本人姓名。")))
    if not PHONE.match(phone):
        problems.append(("phone", _("手机号应为 11 位中国大陆手机号，请核对后填写。")))
    elif phone in seen:
        problems.append(("phone", _("手机号与第 %(line)d 行重复，请合并为一行。", line=seen[phone])))
    else:
        seen[phone] = line
    if code not in committees:
        problems.append(("committee_code", _("居村委代码不在当前边界中，请填写 12 位统计用区划代码。")))
    if len(team) > MAX_TEAM_CHARS:
        problems.append(("team", _("服务队名称不能超过 100 个字，请缩短后重试。")))
    skills, tags, (availability, unknown) = _split(skills), _split(tags), _availability(times)
    problems += [(field, _("每项不超过 30 个字、最多 20 项，多项之间用分号分隔。"))
                 for field, items in (("skills", skills), ("tags", tags)) if not _items_ok(items)]
    problems += [("availability", _("可服务时段“%(value)s”无效，可填写：工作日白天、工作日晚间、周末。", value=item))
                 for item in unknown]
    state = ACTIVE_WORDS.get(active.lower())
    if state is None:
        problems.append(("active", _("状态只能填写“在册”或“停用”。")))
    return problems, (line, name, phone, code, team or None, list(skills), list(tags), list(availability), state)


def normalize_phone(text: str) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86 prefix removed)."""
    digits = re.sub(r"[\s\-]", "", text)
    return digits[3:] if digits.startswith("+86") else digits[2:] if len(digits) == 13 and digits[:2] == "86" \
        else digits


# Rosters repeat the same few skill, tag and availability cells thousands of times: parse each text once.
@lru_cache(maxsize=8192)
def _split(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i.strip() for i in LIST_SEPARATORS.split(text) if i.strip())) if text else ()


def _items_ok(items: tuple[str, ...]) -> bool:
    return len(items) <= MAX_ITEMS and all(len(i) <= MAX_ITEM_CHARS for i in items)


@lru_cache(maxsize=1024)
def _availability(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Availability codes in a fixed order, and the items that are not availabilities."""
    items = _split(text)
    codes = {AVAILABILITY_CODES[i] for i in items if i in AVAILABILITY_CODES}
    return tuple(c for c in AVAILABILITY if c in codes), tuple(i for i in items if i not in AVAILABILITY_CODES)


def export_row(phone: str, v) -> list[str]:
    """One roster row of a volunteer, in COLUMNS order, as read back by read_rows."""
    return [v.real_name, phone, v.committee_code, v.team or "", ";".join(v.skills), ";".join(v.tags),
            ";".join(AVAILABILITY[a] for a in v.availability if a in AVAILABILITY), "在册" if v.active else "停用"]


def write(path: str, rows: Iterable[list[str]], progress: Callable[[int], None] | None = None) -> int:
    """Write roster rows under the roster header to a CSV (UTF-8 with BOM, for Excel) or XLSX file."""
    header = [h for _f, h in COLUMNS]
    count = 0
    if Path(path).suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("志愿者")
        sheet.append(header)
        for row in rows:
            sheet.append(row)
            count += 1
            progress and progress(1)
        book.save(path)
        return count
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        for row in rows:
            out.writerow(row)
            count += 1
            progress and progress(1)
    return count


def write_problems(path: str, bad: list[BadRow]) -> None:
    """Save the bad rows as a CSV a person can work through (行号, 列, 原因)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["行号", "列", "原因"])
        out.writerows([b.line, b.column, b.reason] for b in bad)
