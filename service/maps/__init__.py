"""The supervisors' folium map.

The blueprint is made here and filled by views.py (the page) and api.py (its vector tiles and heat points, the
JSON and binary answers the page fetches), as in every area package.
"""
from flask import Blueprint

bp = Blueprint("maps", __name__)
