"""The boundary import preview page: what the import would change and move, on a folium map (maps/page.py).

The changed regions and their codes travel as inert JSON; the tables are a Jinja fragment (autoescaped)
placed after the data block, so nothing from the uploaded file is ever template source or a hashed script.
"""
from flask import render_template, url_for
from flask_babel import gettext as _

from service.areas.generations import ImportResult
from service.maps import page

PREVIEW_SCRIPTS = ("boundaries_preview.js",)


def kind_labels() -> dict[str, str]:
    return {"added": _("新增"), "removed": _("撤销"), "changed": _("边界调整"), "renamed": _("更名")}


def render(result: ImportResult, digest: str, options: dict) -> str:
    """The whole preview page: the folium shell with the changed regions, then the tables and the confirm form."""
    changes = {c.code: c for c in result.diff.changes}
    features = [{**f, "properties": {"code": f["properties"]["code"], "name": changes[f["properties"]["code"]].name,
                                     "kind": changes[f["properties"]["code"]].kind}}
                for f in result.changed_regions.get("features", []) if f["properties"]["code"] in changes]
    tables = render_template("areas/preview.html", result=result, digest=digest, options=options,
                             kinds=kind_labels())
    return page.render_map({"changes": {"type": "FeatureCollection", "features": features}, "kinds": kind_labels()},
                           static_url=lambda p: url_for("static", filename=p), scripts=PREVIEW_SCRIPTS, after=tables)

