"""火患随手拍: the Flask application factory."""
from flask import Flask, request
from flask_babel import Babel, get_locale

from . import errors
from .config import Config
from .db import db
from .storage import LocalStorage

LANGUAGES = ("zh_CN", "en")
babel = Babel()


def select_locale() -> str:
    """Chinese unless the user switched to English (?lang=en, remembered in a cookie)."""
    lang = request.args.get("lang") or request.cookies.get("lang")
    return lang if lang in LANGUAGES else "zh_CN"


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure an app instance."""
    app = Flask(__name__, static_folder="../static", static_url_path="/static")
    app.config.from_object(Config())
    if test_config:
        app.config.update(test_config)
    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.extensions["photo_storage"] = LocalStorage(app.config["PHOTO_DIR"])
    errors.init_app(app)

    from .api import bp as api_bp
    from .pages import bp as pages_bp
    from .photos_bp import bp as photos_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(photos_bp)

    @app.after_request
    def remember_language(response):
        if request.args.get("lang") in LANGUAGES:
            response.set_cookie("lang", request.args["lang"], max_age=365 * 86400, samesite="Lax")
        return response

    from .cli import register

    register(app)
    return app
