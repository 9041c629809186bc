"""Heavy requests as jobs on RQ workers that share the API's Redis: ``GET /v1/jobs/<id>``.

A trail course (and a tour of many stops) holds a core for seconds. With ``GALIBOT_JOBS=queue`` (what
``make run`` sets) such a request that is not cached yet answers ``202 Accepted`` with ``Location:
/v1/jobs/<id>`` at once, and an RQ worker (``python -m api.worker``, on this host or any other that reaches the
same Redis) computes it. The job's id is the result's key, so the same request asked again while it runs is the
same job, and its result is the one any later request gets: the worker returns the language-neutral body, and
the API keeps it in its store under that key, as if computed in the request. Without a queue (the default, and
the tests of the endpoints themselves) the request computes in place as before.

A job has a time limit (``JOB_TIMEOUT_S``) and one retry: a worker killed in the middle (SIGKILL, a lost host)
leaves a job RQ marks failed once its heartbeat stops, then runs again; a job that fails twice is ``failed`` with
the reason, never lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import Blueprint, Response, current_app, g, jsonify, url_for
from marshmallow import Schema, fields
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from .errors import APIProblem

bp = Blueprint("jobs", __name__, url_prefix="/v1/jobs")

QUEUE = "galibot"
#: A job's id: its result's key (``gpx_exports.export_key``).
JOB_ID = re.compile(r"[0-9a-f]{32}")
#: A job's wall-clock limit: the planners' own work budgets end far sooner; this catches a stuck worker.
JOB_TIMEOUT_S = 300
#: How long a finished job (and its body) stays in Redis: the API copies the body into its store on first read.
RESULT_TTL_S = 3600
FAILURE_TTL_S = 24 * 3600
#: Runs after the first when a run dies (a killed worker); a planner's refusal is an answer, never retried.
RETRIES = 1
#: What a client waits before asking again.
RETRY_AFTER_S = 2


@dataclass(frozen=True)
class Heavy:
    """An endpoint whose uncached requests go to the workers when ``heavy(params)`` says so."""

    compute: Callable[[dict], dict]
    #: whether these parameters are worth a job (a tour of a few stops is answered in the request)
    heavy: Callable[[dict], bool] = lambda params: True
    #: what the planner refuses before its search, run in the request so an impossible request gets its 4xx at once
    check: Callable[[dict], None] = lambda params: None


#: Endpoint name (as ``cached_post`` names it) → how its jobs compute. Filled by the blueprints that queue.
HEAVY: dict[str, Heavy] = {}


def queue_mode() -> bool:
    """Whether heavy requests go to the workers (``GALIBOT_JOBS=queue``)."""
    return current_app.config.get("GALIBOT_JOBS") == "queue"


def _queue() -> Queue:
    return Queue(QUEUE, connection=current_app.extensions["galibot.redis"])


def heavy_job(endpoint: str, params: dict) -> Heavy | None:
    """How a worker computes this request, or None when it is answered in the request (no queue, or light)."""
    heavy = HEAVY.get(endpoint)
    if heavy is None or not queue_mode() or current_app.extensions.get("galibot.redis") is None:
        return None
    return heavy if heavy.heavy(params) else None


def job_progress() -> Callable[[str, float], None] | None:
    """Where a planner reports its stages when it runs as a job (the worker sets it), else None."""
    return g.get("galibot_job_progress")


def submit(key: str, endpoint: str, params: dict) -> Response:
    """``202 Accepted`` for the job computing ``key``: the one queued, running or done, or a new one.

    A failed job is replaced by a new run, unless it failed with the request's own refusal (a 4xx problem: the
    same request gets the same answer).
    """
    queue = _queue()
    try:
        job = Job.fetch(key, connection=queue.connection)
        status, returned = _state(job)
        if status == "failed" and not 400 <= returned.get("problem", {}).get("status", 0) < 500:
            job.delete()
            job = None
    except NoSuchJobError:
        job = None
    if job is None:
        try:  # unique: two requests at once enqueue one job (atomically, in Redis), the second reads it
            job = queue.enqueue_call("api.worker.compute", args=(endpoint, params, key), job_id=key,
                                     timeout=JOB_TIMEOUT_S, result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
                                     retry=Retry(max=RETRIES), description=f"{endpoint} {key}", unique=True,
                                     meta={"endpoint": endpoint, "stage": None, "progress": 0.0})
        except DuplicateJobError:
            job = Job.fetch(key, connection=queue.connection)
    resp = jsonify(JOB.dump(_describe(job)))
    resp.status_code = 202
    resp.headers["Location"] = url_for("jobs.get_job", job_id=key)
    resp.headers["Retry-After"] = str(RETRY_AFTER_S)
    return resp


class JobProblemSchema(Schema):
    """The problem a failed job met: its HTTP status, title, detail and the field it names."""

    status = fields.Integer(required=True)
    title = fields.String(required=True)
    detail = fields.String()
    field = fields.String(allow_none=True)


class JobSchema(Schema):
    """A job: where it is, what it has done, and where its result is once it is done."""

    id = fields.String(required=True, metadata={"description": "the job's id: the key of the result it computes"})
    endpoint = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["queued", "started", "finished", "failed"]})
    position = fields.Integer(allow_none=True, metadata={"description": "queued: jobs ahead of it"})
    progress = fields.Float(required=True, metadata={"description": "0 to 1"})
    stage = fields.String(allow_none=True, metadata={
        "description": "started: what the worker is doing (`computing`; a trail course: `costs`, `solving`, "
                       "`routing`)"})
    attempts = fields.Integer(required=True, metadata={"description": "runs started so far (a retry is a second)"})
    enqueued_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    problem = fields.Nested(JobProblemSchema, allow_none=True,
                            metadata={"description": "failed: the problem the request met (its status and field), "
                                                     "or why the job could not finish"})
    links = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "self; finished: the result (result, gpx, geojson, pdf, png)"})


#: The job schema, made once (see results.FILE_OPTIONS).
JOB = JobSchema()


def _state(job: Job) -> tuple[str, dict]:
    """(status, what the worker returned: ``{"body"}`` or ``{"problem"}``, else empty), with one read of the result."""
    status = job.get_status(refresh=False)
    if status == JobStatus.FINISHED:
        # a body evicted from Redis before the API stored it is a failure too: asked again, the job runs anew
        returned = job.return_value() or {}
        return ("finished" if "body" in returned else "failed"), returned
    if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        return "failed", {}
    return ("started" if status == JobStatus.STARTED else "queued"), {}


def _describe(job: Job) -> dict:
    """The job resource; a finished job's body is copied into the API's store first, so its links serve."""
    from .results import links, store_body

    status, returned = _state(job)
    out = {"id": job.id, "endpoint": job.meta.get("endpoint", ""), "status": status,
           "position": job.get_position() if status == "queued" else None,
           "progress": 1.0 if status in ("finished", "failed") else float(job.meta.get("progress", 0.0)),
           "stage": job.meta.get("stage") if status == "started" else None,
           "attempts": _attempts(job, status), "enqueued_at": job.enqueued_at,
           "started_at": job.started_at, "ended_at": job.ended_at, "problem": None,
           "links": {"self": url_for("jobs.get_job", job_id=job.id)}}
    if status == "finished":
        store_body(job.id, returned["body"], keep=True)
        out["links"].update({("result" if k == "self" else k): v for k, v in links(job.id).items()})
    elif status == "failed":
        out["problem"] = returned.get("problem") or {"status": 500, "title": "Job Failed", "detail": _reason(job),
                                                     "field": None}
    return out


def _attempts(job: Job, status: str) -> int:
    """Runs started so far: those RQ retried (each took one of its ``retries_left``) and the current or last one."""
    retried = RETRIES - (job.retries_left if job.retries_left is not None else RETRIES)
    return retried + (0 if status == "queued" else 1)


def _reason(job: Job) -> str:
    """Why a job failed, in one line (the last line of its exception: a killed worker, a timeout…)."""
    result = job.latest_result()
    text = (getattr(result, "exc_string", None) or job.exc_info or "").strip()
    return (text.splitlines()[-1] if text else "the job stopped without a result")[:300]


@bp.get("/<job_id>")
def get_job(job_id: str):
    """A job's status and progress; once finished, the links to its result."""
    if not queue_mode():
        raise APIProblem(404, "Not Found", "this server computes every request in place; it has no jobs", "job_id")
    if not JOB_ID.fullmatch(job_id):
        raise APIProblem(404, "Not Found", "a job id is the 32 hex digits of its Location", "job_id")
    try:
        job = Job.fetch(job_id, connection=current_app.extensions["galibot.redis"])
    except NoSuchJobError:
        raise APIProblem(404, "Not Found", f"no job {job_id!r} (a finished job is kept for an hour, then its "
                                           "result stays at its link)", "job_id") from None
    except redis.RedisError as exc:
        raise APIProblem(503, "Service Unavailable", f"the job queue is unreachable: {exc}", "job_id") from None
    resp = jsonify(JOB.dump(_describe(job)))
    if resp.json["status"] in ("queued", "started"):
        resp.headers["Retry-After"] = str(RETRY_AFTER_S)
    return resp
