"""Build the OpenAPI 3.1 description of /api/v1 from the app itself.

Paths, methods and path parameters are read from the URL map, so they cannot drift from the routes; each
endpoint's summary and schemas come from service.apidocs.operations. A route missing there is left out of
the description, and tests/browser/test_openapi.py fails on it.
"""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask_babel import gettext as _
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from service.apidocs import schemas
from service.apidocs.operations import OPERATIONS, Operation

PREFIX = "/api/v1"
PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?(\w+)>")
BEARER = {"bearer": []}


def api_rules(app: Flask) -> list[Rule]:
    """The native API's routes (those under /api/v1), in path order."""
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX + "/")), key=lambda r: r.rule)


def _path_parameter(rule: Rule, name: str) -> dict:
    converter = rule._converters[name]  # noqa: SLF001 - werkzeug keeps a rule's converters only here
    if isinstance(converter, AnyConverter):
        schema = {"type": "string", "enum": sorted(converter.items)}
    elif isinstance(converter, IntegerConverter):
        schema = {"type": "integer"}
    else:
        schema = {"type": "string", "pattern": "^[^/]+$"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _content(ok) -> dict:
    kinds = ok if isinstance(ok, dict) else {"application/json": ok}
    return {media: {"schema": {"type": "string", "description": what} if isinstance(what, str) else what}
            for media, what in kinds.items()}


def _operation(op: Operation, rule: Rule) -> dict:
    params = [_path_parameter(rule, name) for name in PLACEHOLDER.findall(rule.rule)]
    if op.query:
        params.append({"in": "query", "schema": op.query})
    responses = {str(status): {"description": _("成功"), "content": _content(schema)}
                 for status, schema in {op.status: op.ok, **op.also}.items()}
    responses["4XX"] = {"description": _("请求有误，message 说明如何更正"), "content": _content(schemas.Error)}
    found = {"summary": str(op.summary), "operationId": rule.endpoint, "tags": [op.tag], "parameters": params,
             "responses": responses, "security": [{}, BEARER] if op.public else [BEARER]}
    if op.body:
        media = "multipart/form-data" if op.multipart else "application/json"
        found["requestBody"] = {"required": True, "content": {media: {"schema": op.body}}}
    return found


def build(app: Flask) -> dict:
    """The description of every documented /api/v1 route, in the request's language."""
    spec = APISpec(
        title=_("火患随手拍 API"), version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()],
        info={"description": _("火患随手拍的原生 JSON 接口。签名登录的网页会话或 Authorization: Bearer 令牌"
                               "（hazard-snap users token 签发）均可调用；错误均为 {\"error\": {\"code\", "
                               "\"message\"}}，message 为中文并说明如何更正。")},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for rule in api_rules(app):
        op = OPERATIONS.get(rule.endpoint)
        if op is None:
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        path = PLACEHOLDER.sub(r"{\1}", rule.rule)
        spec.path(path=path, operations={m.lower(): _operation(op, rule) for m in methods})
    return spec.to_dict()
