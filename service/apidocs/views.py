"""The docs page that renders the API description (Swagger UI, vendored from npm)."""
from flask import render_template

from service.apidocs import bp


@bp.get("/api/docs")
def docs():
    """Show the API's description as a browsable page."""
    return render_template("apidocs/docs.html")
