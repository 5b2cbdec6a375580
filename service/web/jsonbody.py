"""Read a JSON request body, only on the routes that take one, within a size and a depth cap.

Nothing parses JSON globally: a request to any other route never has its body read. The cap on bytes is
checked before reading (Content-Length) and while reading (chunked bodies); nesting deeper than the cap,
or so deep that the parser itself gives up, is a 400 rather than a RecursionError.

Why these values (settings MAX_JSON_BYTES, MAX_JSON_DEPTH): the largest body the API takes is a transition
with a note of 2000 characters (about 6 KB in UTF-8 escapes at worst), so 64 KB is ten times that; no body
nests more than two levels, so 16 is generous.

body() reads a route's body through the schema its OpenAPI entry names (service/apidocs/operations.py), so a
body is described and checked by one declaration; the schemas' comment says which failure is a 400 and which a 422.

NaN, Infinity and -Infinity are not JSON (RFC 8259), though Python's reader takes them, and a number such as
1e400 overflows to infinity: all are a 400 here, so no view ever sees a non-finite float from a body.
"""
import json
import math
from collections.abc import Mapping
from functools import cache

from flask import current_app, request
from flask_babel import gettext as _
from marshmallow import Schema, fields
from werkzeug.datastructures import MultiDict

from service.apidocs.bodies import SHAPE
from service.apidocs.operations import OPERATIONS
from service.core.errors import ApiError


def body():
    """This route's body, checked by its schema: a dict from JSON, or the MultiDict of a form where the schema
    takes one (FORM); a 400 or 422 naming the first field at fault, in the schema's order, otherwise."""
    schema = OPERATIONS[request.endpoint].body
    if request.is_json:
        data = json_body()
    elif schema.FORM:
        data = request.form
    else:
        data = None
    return checked(schema, data)


def checked(schema: type[Schema], data):
    """Return data once it matches the schema, else raise the refusal of its first failing field."""
    if not isinstance(data, Mapping):
        raise ApiError(400, "bad_body", str(schema.HELP))
    loader = _loader(schema)
    flat = {key: data.getlist(key) if isinstance(loader.fields.get(key), fields.List) else data.get(key)
            for key in data} if isinstance(data, MultiDict) else data
    errors = loader.validate(flat)
    for name, field in loader.fields.items():
        messages = errors.get(field.data_key or name)
        if messages is None:
            continue
        refusal, wrong_type = field.metadata.get("refusal"), field.metadata.get("wrong_type")
        if refusal is not None and not (wrong_type == "body" and all(m == SHAPE for m in _leaves(messages))):
            raise ApiError(422, field.metadata["x-error-code"], str(refusal() if callable(refusal) else refusal))
        break
    if errors:
        raise ApiError(400, "bad_body", str(schema.HELP))
    return data


@cache
def _loader(schema: type[Schema]) -> Schema:
    """One instance per schema whose fields word every type error as SHAPE (validators keep their own words)."""
    loader = schema()
    stack = list(loader.fields.values())
    while stack:
        field = stack.pop()
        field.error_messages = {k: m if k == "validator_failed" else SHAPE for k, m in field.error_messages.items()}
        stack.extend(f for f in (getattr(field, "inner", None),) if f is not None)
    return loader


def _leaves(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _leaves(value)
    elif isinstance(messages, list):
        for value in messages:
            yield from _leaves(value)
    else:
        yield messages


def json_body():
    """Return the parsed JSON body of this request, or raise a 4xx naming what to fix."""
    limit = current_app.config["MAX_JSON_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise _too_large(limit)
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError as e:
        raise _too_deep() from e
    except NonFinite as e:
        raise ApiError(
            400, "bad_json_number", _("请求体中含有 NaN、Infinity 或超出范围的数字，请改为普通数值后重试。")
        ) from e
    except ValueError as e:  # UnicodeDecodeError is a ValueError too
        raise ApiError(400, "bad_json", _("请求体不是有效的 JSON，请检查格式后重试。")) from e
    _check(value, current_app.config["MAX_JSON_DEPTH"])
    return value


class NonFinite(ValueError):
    """A JSON number that is no finite float: the NaN/Infinity tokens Python's reader takes, or 1e400."""


def _no_constant(token: str):
    raise NonFinite(token)


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise NonFinite(token)
    return value


def _check(value, max_depth: int) -> None:
    """Walk the value without recursion: refuse deep nesting and NUL in any string (keys included)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ApiError(422, "bad_text", _("提交的文字中含有无效的控制字符，请删除后重试。"))
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise _too_deep()
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "json_too_large", _("请求体过大（JSON 不能超过 %(kb)s KB），请精简后重试。", kb=limit // 1024))


def _too_deep() -> ApiError:
    return ApiError(400, "json_too_deep", _("请求体的 JSON 嵌套层数过多，请精简后重试。"))
