"""The dashboard: figures over the whole table for supervisors, as a page with charts and as JSON.

The blueprint is made here and filled by views.py (the page) and api.py (GET /api/v1/stats), as in every area
package; the report figures come from the trigger-kept cubes (cube.py), and each block of the page is a section
(sections.py), so a new area adds its figures in one place.
"""
from flask import Blueprint

bp = Blueprint("dashboard", __name__, template_folder="templates")
