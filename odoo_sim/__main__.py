"""Entry point: ``python -m odoo_sim --host 127.0.0.1 --port 8069 [options]``."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from odoo_sim.config import config_from_args
from odoo_sim.server import SimServer

log = logging.getLogger("odoo_sim")


def main(argv: list[str] | None = None) -> int:
    cfg = config_from_args(argv)
    logging.basicConfig(level=cfg.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    server = SimServer(cfg)
    host, port = server.server_address[:2]

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %s: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("odoo_sim %s.0 db=%s listening on http://%s:%s (%d stores, %d products, ~%d lines/day, %s..%s %s)"
             " ready in %.2fs", cfg.odoo_version, cfg.db, host, port, cfg.stores, cfg.products, cfg.lines_per_day,
             cfg.start_date, cfg.end_date, cfg.timezone, time.perf_counter() - t0)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
