"""Development server for the embedded profile: `python -m web` (gunicorn serves the scaled one)."""

import os

from disputes.demo import DemoSecretsRefused
from web import create_app

if __name__ == "__main__":
    host = os.environ.get("ODR_WEB_HOST", "127.0.0.1")
    port = int(os.environ.get("ODR_WEB_PORT", "8000"))
    try:
        app = create_app()
    except DemoSecretsRefused as exc:  # say which variable to set, without a traceback
        raise SystemExit(str(exc)) from None
    app.run(host=host, port=port, threaded=True, use_reloader=False)
