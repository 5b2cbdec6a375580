"""Keyset cursors: one encoding, and one decoder that checks every field's type and range.

A cursor is the key of the last row of a page, as URL-safe base64 of a JSON list of strings. It comes back from
the client, so it is input like any other: decode() takes the kinds the list must hold, and anything else (not
base64, not JSON, a wrong length, a number that overflows, a timestamp in year 99999, a NUL) is a 422 asking to
start from the first page, never a 500 from the database. `[0,"1e1000000","hazard","x"]` was a numeric overflow.
"""
import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from service.core.errors import Invalid

MAX_CHARS = 1024
_INT = re.compile(r"-?[0-9]{1,18}")
_WORD = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,12})?")  # epoch seconds and the like: fits numeric and float8


class _Bad(ValueError):
    pass


def _int(raw: str) -> int:
    if not _INT.fullmatch(raw):
        raise _Bad(raw)
    return int(raw)


def _number(raw: str) -> Decimal:
    if not _NUMBER.fullmatch(raw):
        raise _Bad(raw)
    return Decimal(raw)


def _word(raw: str) -> str:
    if not _WORD.fullmatch(raw):
        raise _Bad(raw)
    return raw


def _text(raw: str) -> str:
    if len(raw) > 400 or "\x00" in raw:
        raise _Bad(raw)
    return raw


def _datetime(raw: str) -> datetime:
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:  # every timestamp the service writes is aware; a naive one was made up
        raise _Bad(raw)
    return value


INT, NUMBER, WORD, TEXT, DATE, DATETIME, UUID = _int, _number, _word, _text, date.fromisoformat, _datetime, uuid.UUID


def choice(*values: str) -> Callable[[str], str]:
    def pick(raw: str) -> str:
        if raw not in values:
            raise _Bad(raw)
        return raw
    return pick


def encode(*key) -> str:
    """The cursor of a key: each part as its str() (datetimes and dates as ISO 8601)."""
    parts = [k.isoformat() if isinstance(k, date | datetime) else str(k) for k in key]
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


def decode(cursor: str, *kinds: Callable[[str], object]) -> tuple:
    """The key a cursor of encode() carries, each part converted by its kind, or a 422 for anything else."""
    try:
        if len(cursor) > MAX_CHARS:
            raise _Bad(cursor[:40])
        parts = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(parts, list) or len(parts) != len(kinds) or not all(isinstance(p, str) for p in parts):
            raise _Bad(cursor[:40])
        return tuple(kind(part) for kind, part in zip(kinds, parts, strict=True))
    except (ValueError, TypeError, UnicodeError, binascii.Error, InvalidOperation, OverflowError):
        raise Invalid("bad_cursor", _("翻页参数无效，请从第一页重新开始。")) from None
