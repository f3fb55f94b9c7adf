"""localstripe (a stateful Stripe stand-in from PyPI) served on 127.0.0.1 only, for the billing tests.

localstripe's own command listens on every interface and keeps its state in /tmp/localstripe.pickle, shared by
every copy on the machine; this runs its application on loopback with its state in memory only, and writes a
ready file once it listens (`tests/support/local_servers.py`)."""
import argparse
import asyncio
from pathlib import Path

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    # State lives and dies with this process: nothing read from or written to the shared pickle.
    resources.Store.dump_to_disk = lambda self: None

    async def serve():
        runner = web.AppRunner(server.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        Path(args.ready_file).write_text("ready")  # listening now
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
