"""``python3 -m stripe_double --port PORT [--account-id acct_...] [--store FILE]``."""

import argparse
import asyncio
import logging
import os
import signal

from aiohttp import web
from localstripe import server

from . import API_VERSION, DEFAULT_ACCOUNT_ID, adapter, persistence


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m stripe_double",
        description=f"localstripe speaking Stripe API version {API_VERSION}.",
    )
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument(
        "--account-id",
        default=os.environ.get("STRIPE_DOUBLE_ACCOUNT_ID", DEFAULT_ACCOUNT_ID),
        help="id of GET /v1/account (default: $STRIPE_DOUBLE_ACCOUNT_ID or "
        f"{DEFAULT_ACCOUNT_ID})",
    )
    parser.add_argument(
        "--store", help="pickle file to load the objects from and save them to"
    )
    return parser.parse_args(argv)


async def serve(args):
    adapter.install(server.app, args.account_id)
    runner = web.AppRunner(server.app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    host, port = runner.addresses[0][:2]
    print(
        f"stripe_double ready on http://{host}:{port} (account {args.account_id}, "
        f"store {args.store or 'in memory'})",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv=None):
    args = parse_args(argv)
    if args.store:
        persistence.use_file(args.store)
    else:
        persistence.use_memory()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
