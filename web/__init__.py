"""Flask web application: consumer chat, WeChat endpoint, platform API, service desk."""

from web.app import create_app

__all__ = ["create_app"]
