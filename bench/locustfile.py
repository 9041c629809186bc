"""Load scenarios for ``bench.load``, run by locust in its own process (``GALIBOT_SCENARIO`` picks one)."""

from __future__ import annotations

import itertools
import json
import os
import sys

from locust import HttpUser, constant, task
from locust.exception import StopUser

sys.path.insert(0, os.path.dirname(__file__))

SCENARIO = os.environ.get("GALIBOT_SCENARIO", "cached_route")
_PAIRS_FILE = os.environ.get("GALIBOT_PAIRS_FILE")
_pairs = itertools.cycle(json.loads(open(_PAIRS_FILE).read())) if _PAIRS_FILE else None  # noqa: SIM115
from scenarios import CACHED, CIRCUIT_GPX, RACE_GPX  # noqa: E402 (locust runs this file as a script)


class Client(HttpUser):
    """One app or browser; what it does is the scenario's."""

    wait_time = constant(0)

    @task
    def request(self) -> None:
        if SCENARIO == "health":
            self.client.get("/v1/health", name="health")
        elif SCENARIO == "cached_route":
            self.client.post("/v1/routes", json=CACHED, name="cached route")
        elif SCENARIO == "uncached_route":
            a, b = next(_pairs)
            self.client.post("/v1/routes", json={"points": [a, b], "profile": "bike"}, name="uncached route")
        elif SCENARIO == "circuit_gpx":
            self.client.get(CIRCUIT_GPX, name="circuit GPX")
        elif SCENARIO == "race_morning":
            self.client.get(RACE_GPX, name="race GPX")
            raise StopUser()  # each runner downloads the file once
