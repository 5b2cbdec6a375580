"""The volunteer roster as a file (CSV or XLSX): reading, row-level validation, and export in the same shape."""
import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _

from service.volunteers.registry import AVAILABILITY

# Roster columns: field, header as read and written. English field names are accepted as headers too.
COLUMNS = (("real_name", "姓名"), ("phone", "手机号"), ("committee_code", "居村委代码"), ("team", "服务队"),
           ("skills", "技能"), ("tags", "标签"), ("availability", "可服务时段"), ("active", "状态"))
REQUIRED = ("real_name", "phone", "committee_code")
HEADERS = dict(COLUMNS)
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


def read_rows(path: str) -> list[tuple[int, dict[str, str]]]:
    """Read a roster file into (line number, {field: text}) pairs; raise RosterError for an unreadable file."""
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
    fields = _fields(header[1])
    return [(line, {f: (cells[i] if i < len(cells) else "") for i, f in fields.items()})
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


def _fields(header: list[str]) -> dict[int, str]:
    by_name = {h: f for f, h in COLUMNS} | {f: f for f, _h in COLUMNS}
    fields = {i: by_name[h.strip()] for i, h in enumerate(header) if h.strip() in by_name}
    missing = [HEADERS[f] for f in REQUIRED if f not in fields.values()]
    if missing:
        raise RosterError(_("第 1 行缺少必填列：%(cols)s。请使用导出文件的表头。", cols="、".join(missing)))
    return fields


def validate(rows: list[tuple[int, dict]], committees: set[str],
             progress: Callable[[int], None] | None = None) -> tuple[list[tuple], list[BadRow]]:
    """Check every row; return COPY-ready tuples of the good rows and the problems of the bad ones."""
    good, bad, seen = [], [], {}
    for line, raw in rows:
        problems, row = _check_row(line, raw, committees, seen)
        bad.extend(problems)
        if not problems:
            good.append(row)
        if progress:
            progress(1)
    return good, bad


def _check_row(line: int, raw: dict, committees: set[str], seen: dict) -> tuple[list[BadRow], tuple]:
    problems: list[BadRow] = []

    def refuse(field: str, reason: str) -> None:
        problems.append(BadRow(line, HEADERS[field], reason))

    values = {f: (raw.get(f) or "").strip() for f, _h in COLUMNS}
    if any("\x00" in v for v in values.values()):
        refuse("real_name", _("该行含有无效的控制字符，请删除后重试。"))
        return problems, ()
    for field in ("real_name", "team", "skills", "tags"):
        if values[field][:1] in FORMULA_STARTS:  # a spreadsheet would run it as a formula when opened
            refuse(field, _("内容不能以 =、+、-、@ 开头，请删除开头的符号。"))
    name, phone, code = values["real_name"], normalize_phone(values["phone"]), values["committee_code"]
    if not name or len(name) > MAX_NAME_CHARS:
        refuse("real_name", _("姓名不能为空且不超过 50 个字，请填写志愿者本人姓名。"))
    if not PHONE.match(phone):
        refuse("phone", _("手机号应为 11 位中国大陆手机号，请核对后填写。"))
    elif phone in seen:
        refuse("phone", _("手机号与第 %(line)d 行重复，请合并为一行。", line=seen[phone]))
    else:
        seen[phone] = line
    if code not in committees:
        refuse("committee_code", _("居村委代码不在当前边界中，请填写 12 位统计用区划代码。"))
    if len(values["team"]) > MAX_TEAM_CHARS:
        refuse("team", _("服务队名称不能超过 100 个字，请缩短后重试。"))
    skills, tags = _items(values["skills"], "skills", refuse), _items(values["tags"], "tags", refuse)
    availability = _availability(values["availability"], refuse)
    active = ACTIVE_WORDS.get(values["active"].lower())
    if active is None:
        refuse("active", _("状态只能填写“在册”或“停用”。"))
    return problems, (line, name, phone, code, values["team"] or None, skills, tags, availability, active)


def normalize_phone(text: str) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86 prefix removed)."""
    digits = re.sub(r"[\s\-]", "", text)
    return digits[3:] if digits.startswith("+86") else digits[2:] if len(digits) == 13 and digits[:2] == "86" \
        else digits


def _items(text: str, field: str, refuse) -> list[str]:
    items = list(dict.fromkeys(i.strip() for i in LIST_SEPARATORS.split(text) if i.strip()))
    if len(items) > MAX_ITEMS or any(len(i) > MAX_ITEM_CHARS for i in items):
        refuse(field, _("每项不超过 30 个字、最多 20 项，多项之间用分号分隔。"))
    return items


def _availability(text: str, refuse) -> list[str]:
    codes = []
    for item in dict.fromkeys(i.strip() for i in LIST_SEPARATORS.split(text) if i.strip()):
        if item not in AVAILABILITY_CODES:
            refuse("availability", _("可服务时段“%(value)s”无效，可填写：工作日白天、工作日晚间、周末。", value=item))
        else:
            codes.append(AVAILABILITY_CODES[item])
    return sorted(set(codes), key=list(AVAILABILITY).index)


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
