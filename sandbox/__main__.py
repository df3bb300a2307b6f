"""`python -m sandbox [--port 8100]`: run the sandbox platform on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
import os

from disputes.demo import DemoSecretsRefused
from sandbox.app import HELPER_HEADER, HELPER_TOKEN_FILE, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ODR sandbox platform (the platform side of the settlement API)")
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8100")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        app = create_app()
    except DemoSecretsRefused as exc:  # say which variable to set, without a traceback
        raise SystemExit(str(exc)) from None
    if app.config["HELPERS"]:
        logging.getLogger("sandbox").info(
            "helper routes /_sandbox/*: send header %s with the token of env SANDBOX_HELPER_TOKEN or of %s",
            HELPER_HEADER, HELPER_TOKEN_FILE)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
