"""``python -m api.worker``: an RQ worker for galibot's heavy jobs (see ``api/jobs.py``).

It loads the graph, engine, catalogue and circuits once, as a gunicorn master does, then takes jobs from the
``galibot`` queue of ``REDIS_URL``. RQ forks a work horse per job from this loaded process, so a job starts with
everything in memory (shared, copy-on-write) and a horse that dies takes only its job with it: the worker reports
it failed and RQ runs it again once (``jobs.Retry``). ``make run`` starts one beside gunicorn; more run anywhere
that reaches the same Redis and the same data (``REDIS_URL=redis://host:port/0 python -m api.worker``).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

import redis
from flask import Flask, g
from rq import Queue, Worker, get_current_job
from rq.job import Job

from routing.errors import GalibotError

from . import create_app
from .errors import APIProblem, problem_fields
from .jobs import HEAVY, QUEUE
from .prefork import freeze_before_fork

#: The loaded app of this worker process (set by ``main`` before the first job; the horses inherit it).
APP: Flask | None = None


def compute(endpoint: str, params: dict, key: str) -> dict:
    """The job: the result of ``endpoint`` for ``params`` as the language-neutral body the API stores under
    ``key`` (``{"body"}``), or the problem the request meets (``{"problem"}``: no retry, it is the answer)."""
    from .results import computed_body

    def make() -> bytes:
        g.galibot_job_progress = _reporter(get_current_job())
        body, keep = computed_body(key, lambda: HEAVY[endpoint].compute(params))
        if not keep:  # cut by the wall clock on a busy worker: not the answer an idle one gives, so not stored
            raise APIProblem(503, "Planner Timeout", "the planner's wall-clock safety net ended the search on a busy "
                                                     "worker; ask again (the job is then queued anew)")
        return body

    return _answer(make)


def draw(ext: str, key: str, result: dict, course, opts: dict, lang: str) -> dict:
    """The job of a slow file (``jobs.SLOW_FORMATS``): the file of ``result`` drawn by its maker
    (``results.MAKERS``) in ``lang`` (``{"body"}``), or the problem it meets (``{"problem"}``)."""
    from presentation import words

    from .results import MAKERS

    return _answer(lambda: MAKERS[ext](key, result, course, opts, words(lang)))


def analyse(data: bytes, form: dict) -> dict:
    """The job of a large GPX upload: its analysis as the JSON body ``POST /v1/gpx/analyze`` answers
    (``{"body"}``), or the problem the upload meets, a malformed file's line and all (``{"problem"}``)."""
    from .results import analysis_body

    return _answer(lambda: analysis_body(data, form))


def _answer(make) -> dict:
    """What ``make()`` returns as the job's ``{"body"}``, in the loaded app, or the refusal it meets."""
    job = get_current_job()
    if job is not None:
        job.meta.update(stage="computing", progress=0.0)
        job.save_meta()
    app = APP or _app()
    with app.test_request_context("/v1/jobs"):
        try:
            return {"body": make()}
        except (GalibotError, APIProblem) as exc:
            return {"problem": problem_fields(exc)}


def _reporter(job: Job | None):
    """A planner's ``progress(stage, share)`` written into the job's meta, where ``GET /v1/jobs/<id>`` reads it."""
    def report(stage: str, share: float) -> None:
        if job is not None:
            job.meta.update(stage=stage, progress=round(share, 2))
            job.save_meta()
    return report


def _app() -> Flask:
    """The app, loaded and ready (the graph, the engine, the catalogue and the circuits)."""
    global APP
    print(f"galibot worker {os.getpid()}: loading the graph, the engine, the catalogue and the circuits",
          file=sys.stderr, flush=True)
    APP = create_app({"GALIBOT_JOBS": "inline"})
    state = APP.extensions["galibot.graph"]
    if not state.wait(1800) or state.error:
        raise SystemExit(f"galibot worker: the graph did not load: {state.error}")
    return APP


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    args = parser.parse_args(argv)
    url = os.environ.get("REDIS_URL")
    if not url:
        print("galibot worker: set REDIS_URL to the API's Redis", file=sys.stderr)
        return 2
    _app()
    freeze_before_fork()  # RQ forks a work horse per job from here: the loaded objects stay shared with each
    conn = redis.Redis.from_url(url)
    worker = Worker([Queue(QUEUE, connection=conn)], connection=conn,
                    name=f"galibot-{socket.gethostname()}-{os.getpid()}")
    print(f"galibot worker {worker.name}: ready, taking jobs from {url} ({QUEUE})", file=sys.stderr, flush=True)
    worker.work(burst=args.burst, logging_level="WARNING", with_scheduler=False)
    return 0


if __name__ == "__main__":
    # run as the module the jobs name (``api.worker.compute``…), not as ``__main__``: the app ``main`` loads is then
    # the one every work horse inherits, instead of each horse loading its own (5 s a job)
    from api.worker import main as worker_main

    sys.exit(worker_main())
