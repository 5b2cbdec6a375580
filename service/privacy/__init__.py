"""Privacy: residents' contacts kept only as long as needed (retention.py, `hazard-snap privacy sweep`), and the
access log of who saw them (access.py), read by district admins on /access-log and GET /api/v1/access-log.

The blueprint is made here and filled by views.py (the page) and api.py (the JSON), as in the dashboard's package.
"""
from flask import Blueprint

bp = Blueprint("privacy", __name__, template_folder="templates")
