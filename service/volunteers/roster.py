"""The volunteer roster as a file (CSV or XLSX): reading, row-level validation, and export in the same shape."""
import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from flask_babel import gettext as _

from service.core import sheets
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


def read_rows(path: str) -> list[tuple[int, tuple[str, ...]]]:
    """Read a roster file into (line number, texts in COLUMNS order) pairs; raise SheetError if unreadable."""
    return sheets.read_rows(path, COLUMNS, REQUIRED)


def validate(rows: list[tuple[int, tuple[str, ...]]], committees: set[str],
             progress: Callable[[int], None] | None = None, check=None, headers=HEADERS
             ) -> tuple[list[tuple], list[sheets.BadRow]]:
    """Check every row; return COPY-ready tuples of the good rows and the problems of the bad ones.

    check(line, raw, context, seen) -> (problems as (field, reason), row) checks one row of another table
    (headers names its fields); the roster's own check, with the set of committee codes as context, by default.
    """
    good, bad, seen = [], [], {}
    for n, (line, raw) in enumerate(rows, start=1):
        problems, row = (check or _check_row)(line, raw, committees, seen)
        if problems:
            bad.extend(sheets.BadRow(line, headers[field], reason) for field, reason in problems)
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
    return sheets.write_table(path, [h for _f, h in COLUMNS], rows, "志愿者", progress)
