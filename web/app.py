"""Application factory: one blueprint per surface."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask

from web.privacy import install_log_masking
from web.rasa_client import RasaClient


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    if config is None or not config.get("TESTING"):
        from web.config import from_env

        app.config.update(from_env())
    app.config.update(config or {})
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(days=30))
    app.config.setdefault("RASA_URL", "http://127.0.0.1:5005")
    app.config.setdefault("RASA_TIMEOUT", 30.0)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install_log_masking()

    from disputes.db import upgrade

    upgrade(app.config["DATABASE_URL"])

    app.extensions["rasa_client"] = RasaClient(app.config["RASA_URL"], app.config["RASA_TIMEOUT"])

    from web.chat import bp as chat_bp
    from web.platform_api import bp as platform_bp

    app.register_blueprint(chat_bp)
    app.register_blueprint(platform_bp, url_prefix="/api/platform/v1")
    _register_surfaces(app, exempt_from_csrf=[chat_bp, platform_bp])
    return app


def _register_surfaces(app: Flask, exempt_from_csrf: list) -> None:
    """Case pages, service desk, statistics and WeChat, plus CSRF and the login rate limiter.
    JSON/signed APIs (chat relay, platform API, WeChat) are exempt from CSRF: they are not
    form posts, and each authenticates in its own way."""
    from web.cases import bp as cases_bp
    from web.desk import bp as desk_bp
    from web.forms import csrf, init_security
    from web.stats import bp as stats_bp
    from web.wechat import bp as wechat_bp
    from web.wechat import init_wechat

    init_security(app)
    init_wechat(app)
    for bp in (*exempt_from_csrf, wechat_bp):
        csrf.exempt(bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(desk_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(wechat_bp)
