"""`python -m dashboard`: serve the dashboard (Flask's threaded server, local by default).

Settings (flags override the environment): `DATA_LAKE_PATH` (lake root), `DASH_HOST`
(default 127.0.0.1), `DASH_PORT` (default 8050), `STORE_TIMEZONE` (labels only).
Beyond loopback (or with `DASH_AUTH=on`) it asks for a login and refuses to start without
`DASH_USERS_FILE` and `DASH_SECRET_KEY` (dashboard/auth.py).
"""

from __future__ import annotations

import argparse
import logging
import os

log = logging.getLogger("dashboard")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("DASH_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DASH_PORT", "8050")))
    parser.add_argument("--lake", default=None, help="lake root (default: $DATA_LAKE_PATH or data-lake/)")
    parser.add_argument("--debug", action="store_true", help="Dash dev tools and reloader (never in production)")
    args = parser.parse_args(argv)
    if args.lake:
        os.environ["DATA_LAKE_PATH"] = args.lake
    os.environ["DASH_HOST"] = args.host  # auth.required() decides on the address actually served
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from dashboard.app import create_app
    from dashboard.auth import AuthConfigError
    from include.etl import serving
    from include.etl.config import lake_root

    try:
        app = create_app()
    except AuthConfigError as exc:
        raise SystemExit(f"dashboard not started: {exc}") from None
    state = serving.for_lake(lake_root())  # starts from the lake's serving snapshot, if any
    state.sync()  # before the first request, so the first page is as fast as the next ones
    log.info("serving http://%s:%d/ over the lake at %s (%s)", args.host, args.port, lake_root(), state.last_sync)
    app.run(host=args.host, port=args.port, debug=args.debug)


if __name__ == "__main__":
    main()
