"""GET /api/v1/stats: every dashboard figure as JSON, under the list's filters and the caller's scope."""
from flask import jsonify, request

from service.accounts.auth import actor
from service.dashboard import bp, sections


@bp.get("/api/v1/stats")
def stats():
    """Every dashboard figure as JSON (or only the sections named in ?section=), under the list's filters and the
    caller's scope."""
    return jsonify(sections.figures(actor(), request.args.get("section", ""))[1])
