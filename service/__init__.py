"""火患随手拍: the Flask application factory."""
import importlib

from flask import Flask, Request, has_request_context, request
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from service import security
from service.accounts import auth
from service.core import clock, errors
from service.core.config import Config
from service.core.db import db, engine_options
from service.ops import logs, metrics, replica
from service.photos import storage

LANGUAGES = ("zh_CN", "en")
# Every area's tables: importing them registers the whole schema on the metadata (the app and Alembic need it).
TABLES = ("service.core.models", "service.core.cubes", "service.accounts.models", "service.areas.models",
          "service.bodies.models", "service.hotline.models", "service.notify.models", "service.orders.models",
          "service.privacy.models", "service.receipts.models", "service.reports.models",
          "service.sites.models", "service.volunteers.models")
babel = Babel()
csrf = CSRFProtect()


def load_tables() -> None:
    """Import every area's tables, so the metadata holds the whole schema."""
    for name in TABLES:
        importlib.import_module(name)


def select_locale() -> str:
    """Chinese unless the user switched to English (?lang=en, remembered in a cookie)."""
    if not has_request_context():
        return "zh_CN"  # CLI jobs (escalation, notifications) write for staff in Chinese
    lang = request.args.get("lang") or request.cookies.get("lang")
    return lang if lang in LANGUAGES else "zh_CN"


def _template_helpers(app: Flask) -> None:
    from service.core import localtime
    from service.core.fields import MAX_NOTE
    from service.rules.categories import CATEGORIES, RISK_LEVELS
    from service.rules.workflow import CLOCK_RUNNING, STATUS_LABELS

    app.jinja_env.globals.update(get_locale=get_locale, categories=CATEGORIES, status_labels=STATUS_LABELS,
                                 clock_running=CLOCK_RUNNING, risk_levels=RISK_LEVELS, max_note=MAX_NOTE)

    app.jinja_env.filters["localtime"] = localtime.show

    @app.context_processor
    def now():
        return {"now": clock.now()}


class SpooledUploads(Request):
    """Multipart file parts go to anonymous temporary files, not memory (Werkzeug's default for a body over
    500 kB; text fields stay capped by MAX_FORM_MEMORY_SIZE). The form is parsed before the caller is known
    (the NUL and CSRF checks) and before the upload limit, so an in-memory part made every anonymous post
    cost its whole body in RAM: 8 parallel 60 MB posts grew a worker by 1.0x their size (bench/uploads_rss.py).
    A Content-Length over MAX_CONTENT_LENGTH is refused with a 413 before anything is read."""


def _subscribe() -> None:
    """Each area subscribes its handlers to the events of others (service/core/events.py), and adds what it
    offers to lists below it (an order source on the volunteers' tasks page)."""
    from service import bodies, hotline, orders, receipts, reports, sites, volunteers

    for area in (sites, reports, receipts, volunteers, orders, bodies, hotline):
        area.subscribe()


def _register_blueprints(app: Flask) -> None:
    """One blueprint per user-facing area (plus the health check)."""
    from service.accounts.views import bp as accounts_bp
    from service.apidocs import api as apidocs_api
    from service.apidocs import views as apidocs_views
    from service.areas import api as areas_api
    from service.areas import views as areas_views
    from service.bodies.views import bp as bodies_bp
    from service.dashboard import api as dashboard_api
    from service.dashboard import views as dashboard_views
    from service.maps import api as maps_api
    from service.maps import views as maps_views
    from service.open311.api import bp as open311_bp
    from service.ops.api import health
    from service.orders.api import bp as orders_api_bp
    from service.orders.views import bp as orders_bp
    from service.photos.views import bp as photos_bp
    from service.privacy import api as privacy_api
    from service.privacy import views as privacy_views
    from service.receipts.views import bp as receipts_bp
    from service.reports.api import bp as reports_api_bp
    from service.reports.offline import bp as offline_bp
    from service.reports.views import bp as reports_bp
    from service.sites.api import api as sites_api_bp
    from service.sites.views import bp as sites_bp
    from service.volunteers.api import bp as volunteers_bp
    from service.volunteers.views import bp as volunteer_pages_bp

    areas_bp, dashboard_bp = areas_views.bp, dashboard_views.bp
    maps_bp, apidocs_bp = maps_views.bp, apidocs_views.bp
    # The api modules are imported for the routes they add to the same blueprints.
    assert (areas_api.bp, dashboard_api.bp, maps_api.bp, apidocs_api.bp) == (
        areas_bp, dashboard_bp, maps_bp, apidocs_bp)
    # Bearer clients need no CSRF token; cookie sessions are checked in each API's before_request.
    csrf.exempt(reports_api_bp)
    csrf.exempt(volunteers_bp)
    csrf.exempt(sites_api_bp)
    csrf.exempt(orders_api_bp)
    csrf.exempt(open311_bp)  # callers are known by api_key only, never by a cookie (service/open311/api.py)
    for bp in (health, areas_bp, reports_api_bp, reports_bp, offline_bp, photos_bp, accounts_bp, maps_bp, volunteers_bp,
               volunteer_pages_bp, open311_bp, sites_bp, sites_api_bp):
        app.register_blueprint(bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(orders_api_bp)
    app.register_blueprint(apidocs_bp)
    app.register_blueprint(receipts_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(bodies_bp)
    assert privacy_api.bp is privacy_views.bp
    app.register_blueprint(privacy_views.bp)


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure an app instance."""
    load_tables()
    app = Flask(__name__, static_folder="../static", static_url_path="/static")
    app.request_class = SpooledUploads
    app.config.from_object(Config())
    if test_config:
        app.config.update(test_config)
    security.init_app(app)
    logs.init_app(app)  # before any other hook, so every request gets an id, an access line and a timing
    metrics.init_app(app)
    replica.init_app(app)
    if app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=app.config["PROXY_HOPS"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    app.config["SQLALCHEMY_BINDS"] = replica.binds(app.config)
    db.init_app(app)
    auth.init_app(app)
    errors.init_app(app)  # before CSRF: a malformed form is refused before Flask-WTF reads it
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    _template_helpers(app)
    app.extensions["photo_storage"] = storage.from_config(app.config)

    _register_blueprints(app)
    _subscribe()

    @app.after_request
    def remember_language(response):
        if request.args.get("lang") in LANGUAGES:
            response.set_cookie("lang", request.args["lang"], max_age=365 * 86400, samesite="Lax",
                                secure=security.cookie_secure(), httponly=True)
        return response

    from service.cli import register

    register(app)
    return app
