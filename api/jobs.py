"""Heavy requests as jobs on RQ workers that share the API's Redis: ``GET /v1/jobs/<id>``.

A trail course, a tour of many stops, a printed sheet or map picture not drawn yet, and the analysis of a large
GPX upload hold a core for seconds. With ``GALIBOT_JOBS=queue`` (what ``make run`` sets) such a request that is
not cached yet answers ``202 Accepted`` with ``Location: /v1/jobs/<id>`` at once, and an RQ worker (``python -m
api.worker``, on this host or any other that reaches the same Redis) computes it. The job's id is the key of what
it makes (a result's key; for a file or an analysis, a hash of theirs), so the same request asked again while it
runs is the same job, and what it makes is what any later request gets: the worker returns the bytes (the
language-neutral result, the file, the analysis) through Redis, and the API keeps them in its export store under
that key, as if computed in the request; a worker needs nothing of the API host's disk. Without a queue (the
default, and the tests of the endpoints themselves) the request computes in place as before.

A job has a time limit (``JOB_TIMEOUT_S``) and one retry: a worker killed in the middle (SIGKILL, a lost host)
leaves a job RQ marks failed once its heartbeat stops, then runs again; a job that fails twice is ``failed`` with
the reason, never lost.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import Blueprint, Response, current_app, g, jsonify, url_for
from marshmallow import Schema, fields
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from routing.progress import Progress, silent

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
#: Files drawn for seconds (the printed sheet, the map picture): a worker draws them when there is a queue.
SLOW_FORMATS = ("pdf", "png")
#: A GPX upload larger than this (about half a second of analysis and more, up to ~10 s at the 10 MB limit) is
#: analysed by a worker when there is a queue.
JOB_GPX_BYTES = 256 * 1024


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


def queue_ready() -> bool:
    """Whether heavy requests go to the workers and there is a Redis to queue them in."""
    return queue_mode() and current_app.extensions.get("galibot.redis") is not None


def heavy_job(endpoint: str, params: dict) -> Heavy | None:
    """How a worker computes this request, or None when it is answered in the request (no queue, or light)."""
    heavy = HEAVY.get(endpoint)
    if heavy is None or not queue_ready():
        return None
    return heavy if heavy.heavy(params) else None


def job_progress() -> Progress:
    """Where a planner reports its stages when it runs as a job (the worker sets it), else nowhere."""
    return g.get("galibot_job_progress", silent)


@dataclass(frozen=True)
class JobSpec:
    """What a job computes and where its answer goes: the worker's function and arguments, and the store entry
    (key, suffix) and links the API fills with the bytes the worker returns."""

    job_id: str
    endpoint: str
    func: str
    args: tuple
    store_key: str
    store_suffix: str
    links: dict[str, str]


def submit(spec: JobSpec) -> Response:
    """``202 Accepted`` for the job ``spec``: the one queued, running or done, or a new one."""
    job = existing(spec.job_id)
    return accepted(job if job is not None else enqueue(spec))


def enqueue(spec: JobSpec) -> Job:
    """The new job ``spec`` (or, when another request enqueued it a moment before, that one)."""
    queue = _queue()
    try:  # unique: two requests at once enqueue one job (atomically, in Redis), the second reads it
        return queue.enqueue_call(spec.func, args=spec.args, job_id=spec.job_id, timeout=JOB_TIMEOUT_S,
                                  result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S, retry=Retry(max=RETRIES),
                                  description=f"{spec.endpoint} {spec.job_id}", unique=True,
                                  meta={"endpoint": spec.endpoint, "stage": None, "progress": 0.0,
                                        "store": [spec.store_key, spec.store_suffix], "links": spec.links})
    except DuplicateJobError:
        return Job.fetch(spec.job_id, connection=queue.connection)


def accepted(job: Job) -> Response:
    """``202 Accepted``: the job, at its Location."""
    resp = jsonify(JOB.dump(_describe(job)))
    resp.status_code = 202
    resp.headers["Location"] = url_for("jobs.get_job", job_id=job.id)
    resp.headers["Retry-After"] = str(RETRY_AFTER_S)
    return resp


def existing(job_id: str) -> Job | None:
    """The job ``job_id`` as it stands, or None when there is none or it failed for a reason a new run may not
    meet (a killed worker, a timeout): such a job is dropped, to be run anew. A job that failed with the request's
    own refusal (a 4xx problem) stays: the same request gets the same answer."""
    try:
        job = Job.fetch(job_id, connection=current_app.extensions["galibot.redis"])
    except NoSuchJobError:
        return None
    status, returned = _state(job)
    if status == "failed" and not 400 <= returned.get("problem", {}).get("status", 0) < 500:
        job.delete()
        return None
    return job


def made(job: Job) -> bytes | None:
    """What the job made once it has finished, copied into the API's store (so its links serve it), else None."""
    status, returned = _state(job)
    if status != "finished":
        return None
    _keep(job, returned["body"])
    return returned["body"]


def derived_id(*parts: str) -> str:
    """A job id (32 hex digits, as a result's key) for what is not a result: a file of one, an analysis."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


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
        "description": "started: what the worker is doing (`computing`; a trail course or a tour: `costs`, "
                       "`solving`, `routing`)"})
    attempts = fields.Integer(required=True, metadata={"description": "runs started so far (a retry is a second)"})
    enqueued_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    problem = fields.Nested(JobProblemSchema, allow_none=True,
                            metadata={"description": "failed: the problem the request met (its status and field), "
                                                     "or why the job could not finish"})
    links = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "self; finished: a planner's result (result, gpx, geojson, pdf, "
                                                 "png), a drawn file (file: the request again, now served at "
                                                 "once) or an analysis (result)"})


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
    """The job resource; a finished job's bytes are copied into the API's store first, so its links serve."""
    status, returned = _state(job)
    out = {"id": job.id, "endpoint": job.meta.get("endpoint", ""), "status": status,
           "position": job.get_position() if status == "queued" else None,
           "progress": 1.0 if status in ("finished", "failed") else float(job.meta.get("progress", 0.0)),
           "stage": job.meta.get("stage") if status == "started" else None,
           "attempts": _attempts(job, status), "enqueued_at": job.enqueued_at,
           "started_at": job.started_at, "ended_at": job.ended_at, "problem": None,
           "links": {"self": url_for("jobs.get_job", job_id=job.id)}}
    if status == "finished":
        _keep(job, returned["body"])
        out["links"].update(job.meta.get("links", {}))
    elif status == "failed":
        out["problem"] = returned.get("problem") or {"status": 500, "title": "Job Failed", "detail": _reason(job),
                                                     "field": None}
    return out


def _keep(job: Job, body: bytes) -> None:
    """A finished job's bytes into the export store, where its submitter said (once: a stored entry stays)."""
    from .results import store_bytes

    key, suffix = job.meta.get("store") or (job.id, ".json")
    store_bytes(key, suffix, body)


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
