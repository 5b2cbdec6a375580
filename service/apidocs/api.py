"""The API description as JSON, in the caller's language."""
from flask import current_app, jsonify

from service.apidocs import bp, spec


@bp.get("/api/v1/openapi.json")
def openapi():
    """Describe the native API in OpenAPI 3.1, in the caller's language."""
    return jsonify(spec.build(current_app))
