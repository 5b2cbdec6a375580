"""Volunteers: the registry, the roster import/export, the service-hour ledger and star levels."""
from flask import Blueprint

bp = Blueprint("volunteers", __name__)

from service.volunteers import views  # noqa: E402,F401  (registers the routes on bp)
