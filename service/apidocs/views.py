"""The API description as JSON and the docs page that renders it (Swagger UI, vendored from npm)."""
from flask import Blueprint, current_app, jsonify, render_template

from service.apidocs import spec

bp = Blueprint("apidocs", __name__, template_folder="templates")


@bp.get("/api/v1/openapi.json")
def openapi():
    """Describe the native API in OpenAPI 3.1, in the caller's language."""
    return jsonify(spec.build(current_app))


@bp.get("/api/docs")
def docs():
    """Show the API's description as a browsable page."""
    return render_template("apidocs/docs.html")
