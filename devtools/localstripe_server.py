"""Runs localstripe, the Stripe stand-in of the local run and the tests, on loopback only.

`python -m localstripe` listens on every interface and keeps its state in one file per machine;
this launcher binds 127.0.0.1 and keeps the state in memory, so two instances on one machine
(two test runs, a local run) never share or overwrite each other's objects.

    python -m devtools.localstripe_server --port 8420
"""

from __future__ import annotations

import argparse
import logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="localstripe on 127.0.0.1, state in memory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args(argv)

    from aiohttp import web
    from localstripe import resources, server

    # In memory only: no state file shared between instances.
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None

    from devtools import localstripe_mandates, localstripe_wallets

    localstripe_wallets.install(server.app)  # payment method domains, which localstripe lacks
    localstripe_mandates.install()  # a mandate reference of its own for each SEPA payment method
    logging.basicConfig(level=logging.WARNING)
    web.run_app(server.app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
