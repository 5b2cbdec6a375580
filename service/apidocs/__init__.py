"""The native API's machine-readable description (OpenAPI 3.1 at /api/v1/openapi.json) and its docs page.

The blueprint is made here and filled by api.py (the description as JSON) and views.py (the page that renders
it), as in every area package.
"""
from flask import Blueprint

bp = Blueprint("apidocs", __name__, template_folder="templates")
