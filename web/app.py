"""Application factory: one blueprint per surface."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask

from disputes.privacy import install_log_masking
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
    if not app.config.get("TESTING"):
        refuse_demo_secrets(app.config)

    from disputes.db import upgrade

    upgrade(app.config["DATABASE_URL"])

    app.extensions["rasa_client"] = RasaClient(app.config["RASA_URL"], app.config["RASA_TIMEOUT"])

    from web.chat import bp as chat_bp
    from web.platform_api import bp as platform_bp

    app.register_blueprint(chat_bp)
    app.register_blueprint(platform_bp, url_prefix="/api/platform/v1")
    _register_surfaces(app, exempt_from_csrf=[chat_bp, platform_bp])

    from web.caching import init_cache
    from web.limits import init_limits

    init_cache(app)
    init_limits(app)  # rate limits on chat, new conversations, uploads and /stats (web/config.py)
    return app


def refuse_demo_secrets(config: Mapping[str, Any]) -> None:
    """Outside demo mode (ODR_DEMO=1) no public demo secret: the WeChat token and key, and the
    signing secrets of the webhook platforms (raises disputes.demo.DemoSecretsRefused)."""
    from disputes.demo import enforce, platform_problems
    from web.wechat_client import secret_problems, settings_from

    enforce("web", [*secret_problems(settings_from(config)), *platform_problems()])


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
