"""Boundaries, generations, the assignment query and lookup."""
from flask import Blueprint

bp = Blueprint("areas", __name__, template_folder="templates")
