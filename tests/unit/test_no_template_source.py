"""Lint: no text but our own constants can become Jinja source, anywhere in service/.

branca re-renders every folium element's output as a template, so a folium/branca element, a Template, an
Element, Markup or render_template_string built from data would run that data as code. This test reads the
source: each such call may take only literals, module constants, numbers we computed, or values passed
through ``maps.page.inert()``; and no HTML template may switch autoescaping off or mark text ``|safe``.
"""
import ast
import re

from tests.support.paths import ROOT

SERVICE = ROOT / "service"
DANGEROUS = {"Template", "Element", "MacroElement", "Markup", "render_template_string", "Html", "Popup",
             "Tooltip", "GeoJson", "GeoJsonTooltip", "GeoJsonPopup", "Marker", "CircleMarker", "TileLayer",
             "FeatureGroup", "LayerControl", "DivIcon", "Map", "JavascriptLink", "CssLink", "Figure"}
TEMPLATE_MODULES = {"folium", "branca", "jinja2", "markupsafe"}
# Keyword arguments that are numbers or booleans by construction (checked where they are computed).
NUMERIC_KWARGS = {"location", "zoom_start", "max_zoom", "control_scale", "control", "tiles", "show"}


XML_MODULES = {"ET", "etree", "ElementTree"}  # xml.etree's Element builds a node, not a template


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return "" if owner in XML_MODULES else func.attr
    return getattr(func, "id", "")


def _static(node: ast.expr) -> bool:
    """A literal, a concatenation of literals, an UPPER_CASE module constant, or inert(...)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.BinOp):
        return _static(node.left) and _static(node.right)
    if isinstance(node, ast.Name):
        return node.id.isupper()
    return isinstance(node, ast.Call) and _name(node.func) == "inert"


def offenders(source: str, filename: str) -> list[str]:
    """Calls of template-making names with an argument that is not provably ours."""
    tree = ast.parse(source, filename)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in DANGEROUS:
            args = [a for a in node.args if not _static(a)]
            args += [k.value for k in node.keywords if k.arg not in NUMERIC_KWARGS and not _static(k.value)]
            if args:
                found.append(f"{filename}:{node.lineno}: {ast.unparse(node)[:120]}")
    return found


def importers(source: str) -> set[str]:
    tree = ast.parse(source)
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return names & TEMPLATE_MODULES


def test_template_making_calls_take_only_our_own_text():
    found = []
    for path in SERVICE.rglob("*.py"):
        found += offenders(path.read_text(encoding="utf-8"), str(path.relative_to(SERVICE.parent)))
    assert found == [], "data may reach a template as source:\n" + "\n".join(found)
    mapview = ast.parse((SERVICE / "maps" / "page.py").read_text(encoding="utf-8"))
    assert sum(isinstance(n, ast.Call) and _name(n.func) in DANGEROUS for n in ast.walk(mapview)) >= 4  # scanned


def test_only_the_map_module_uses_folium_or_branca():
    users = {str(p.relative_to(SERVICE.parent)) for p in SERVICE.rglob("*.py")
             if importers(p.read_text(encoding="utf-8")) & {"folium", "branca"}}
    assert users <= {"service/maps/page.py"}, users


def test_html_templates_never_disable_escaping():
    for path in SERVICE.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|\bMarkup\b", text), path


def test_the_lint_catches_data_in_an_element():
    """The checker itself: flags data, accepts literals and inert()."""
    bad = "folium.Popup(report['description'])\nElement(f'<b>{name}</b>')\nTemplate(text)\n"
    good = ("Element('<style></style>')\nfolium.TileLayer(tiles=inert(url), attr=ATTRIBUTION, max_zoom=19)\n"
            "ET.Element(tag)\n")
    assert len(offenders(bad, "bad.py")) == 3
    assert offenders(good, "good.py") == []
