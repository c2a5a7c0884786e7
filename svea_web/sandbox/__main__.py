"""`svea-sandbox` / `python -m svea_web.sandbox`: run the sandbox on its own port.

It prints one line, `Svea sandbox listening on http://HOST:PORT`, once it accepts connections, so a
test or supervisor that starts it with `--port 0` can read the port it got.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

from werkzeug.serving import make_server

from svea_web.sandbox import DEFAULTS, create_app, settings_from_environment


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="svea-sandbox", description="Run the Svea Finans sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "5001")))
    parser.add_argument("--db", help="SQLite file, or :memory: (default: instance/svea-sandbox.sqlite)")
    parser.add_argument("--demo", action="store_true", help="seed the demo creditor 10042; admin endpoints on")
    parser.add_argument("--test-mode", action="store_true", help="enable the /sandbox/admin endpoints")
    parser.add_argument("--confirm-delay", type=float, help="seconds before a submission is confirmed (300)")
    parser.add_argument("--reply-delay", type=float, help="seconds before the case handler replies (120)")
    parser.add_argument(
        "--random-payments",
        type=int,
        metavar="SEED",
        help="debtors pay at random after letters, repeatably for this seed",
    )
    args = parser.parse_args(argv)

    config = {**DEFAULTS, **settings_from_environment()}
    if args.db:
        config["SANDBOX_DB"] = args.db
    if args.demo:
        config["SANDBOX_DEMO"] = True
    if args.test_mode:
        config["TEST_MODE"] = True
    if args.confirm_delay is not None:
        config["CONFIRM_DELAY_SECONDS"] = args.confirm_delay
    if args.reply_delay is not None:
        config["REPLY_DELAY_SECONDS"] = args.reply_delay
    if args.random_payments is not None:
        config["RANDOM_PAYMENTS_SEED"] = args.random_payments

    server = make_server(args.host, args.port, create_app(config), threaded=True)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(f"Svea sandbox listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
