"""Trips saved by the app, in Redis: one namespace per token, compare-and-set writes, a change feed.

Every write is one Lua script, so Redis runs it atomically: it compares the caller's precondition
(If-Match or a base version) with the stored version, writes the trip and appends to the owner's
change feed (a Redis stream) together, or does nothing. A PUT whose content equals the stored one is
a no-op, so a replayed request changes nothing. A delete leaves a tombstone in the trip's key and in
the feed. Redis must persist with AOF (``appendfsync always`` for acknowledged writes to survive a
crash); the store refuses to write otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

PREFIX = "galibot:trips"
CURSOR_RE = re.compile(r"^(0|\d{1,20}-\d{1,20})$")
FEED_PAGE_MAX = 500

_PUT = """
local cur = redis.call('HMGET', KEYS[1], 'version', 'hash', 'deleted')
local version = tonumber(cur[1]) or 0
local live = cur[1] ~= false and cur[3] == '0'
local etag = ''
if live then etag = cur[1] .. '.' .. string.sub(cur[2], 1, 16) end
if live and cur[2] == ARGV[2] then return {'same', version} end
if ARGV[3] ~= '' and not ((ARGV[3] == '*' and live) or ARGV[3] == etag) then return {'precondition', version} end
if ARGV[4] ~= '' then
  local base = tonumber(ARGV[4])
  if base < version then return {'behind', version} end
  if base > version then return {'ahead', version} end
end
version = version + 1
redis.call('HSET', KEYS[1], 'body', ARGV[1], 'hash', ARGV[2], 'version', version, 'deleted', '0', 'updated_at', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[6])
local at = redis.call('XADD', KEYS[3], '*', 'id', ARGV[6], 'op', 'put', 'version', version)
if version == 1 then return {'created', version, at} end
return {'updated', version, at}
"""

_DELETE = """
local cur = redis.call('HMGET', KEYS[1], 'version', 'hash', 'deleted')
if cur[1] == false then return {'missing', 0} end
local version = tonumber(cur[1])
if cur[3] == '1' then return {'gone', version} end
local etag = cur[1] .. '.' .. string.sub(cur[2], 1, 16)
if ARGV[1] ~= '' and ARGV[1] ~= '*' and ARGV[1] ~= etag then return {'precondition', version} end
version = version + 1
redis.call('HSET', KEYS[1], 'body', '', 'hash', '', 'version', version, 'deleted', '1', 'updated_at', ARGV[2])
redis.call('SREM', KEYS[2], ARGV[3])
local at = redis.call('XADD', KEYS[3], '*', 'id', ARGV[3], 'op', 'delete', 'version', version)
return {'deleted', version, at}
"""


class StoreUnavailable(Exception):
    """Redis is down, or does not persist: a trip cannot be stored safely."""


@dataclass(frozen=True)
class Trip:
    """A stored trip: its content, version and state."""

    id: str
    content: dict
    version: int
    deleted: bool
    updated_at: str
    hash: str

    @property
    def etag(self) -> str:
        return f"{self.version}.{self.hash[:16]}"

    def as_dict(self) -> dict:
        if self.deleted:
            return {"id": self.id, "version": self.version, "deleted": True, "updated_at": self.updated_at}
        return {"id": self.id, **self.content, "version": self.version, "deleted": False,
                "updated_at": self.updated_at, "etag": self.etag}


@dataclass(frozen=True)
class WriteResult:
    """What a write did: ``created``, ``updated``, ``same`` (no-op), ``deleted``, ``gone`` (already deleted),
    or why it did nothing: ``precondition`` (If-Match), ``behind``/``ahead`` (base version), ``missing``."""

    outcome: str
    trip: Trip | None


def namespace(token: str) -> str:
    """A token's key space: a hash, so keys never hold the token and one token cannot name another's keys."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


def canonical(content: dict) -> tuple[str, str]:
    """The stored form of a trip's content and its sha256."""
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return body, hashlib.sha256(body.encode("utf-8")).hexdigest()


class TripStore:
    """The trips of every token in one Redis."""

    def __init__(self, client: redis.Redis | None) -> None:
        self.client = client
        self._put = client.register_script(_PUT) if client is not None else None
        self._delete = client.register_script(_DELETE) if client is not None else None
        self._persistent = False

    def _keys(self, ns: str, trip_id: str) -> list[str]:
        return [f"{PREFIX}:{ns}:trip:{trip_id}", f"{PREFIX}:{ns}:ids", f"{PREFIX}:{ns}:feed"]

    def _call(self, fn, *args):
        """Run a Redis call; StoreUnavailable when Redis cannot be reached."""
        if self.client is None:
            raise StoreUnavailable("no Redis is configured (REDIS_URL); trips cannot be stored")
        try:
            return fn(*args)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise StoreUnavailable(f"the trip store (Redis) is unreachable: {exc}") from None

    def _check_persistence(self) -> None:
        """Refuse writes to a Redis without AOF, where an acknowledged trip could be lost on a restart."""
        if not self._persistent:
            info = self._call(self.client.info, "persistence")
            if not info.get("aof_enabled"):
                raise StoreUnavailable("the trip store (Redis) runs without AOF persistence; trips are not accepted")
            self._persistent = True

    def get(self, ns: str, trip_id: str) -> Trip | None:
        """The trip (or its tombstone), or None if this token never stored it."""
        raw = self._call(self.client.hgetall, self._keys(ns, trip_id)[0])
        return _trip(trip_id, raw) if raw else None

    def put(self, ns: str, trip_id: str, content: dict, if_match: str | None, base_version: int | None) -> WriteResult:
        """Create or replace a trip, under the caller's precondition; atomic."""
        self._check_persistence()
        body, digest = canonical(content)
        outcome, *_ = self._call(self._put, self._keys(ns, trip_id),
                                 [body, digest, if_match or "", "" if base_version is None else base_version,
                                  _now(), trip_id])
        return WriteResult(outcome.decode(), self.get(ns, trip_id))

    def delete(self, ns: str, trip_id: str, if_match: str | None) -> WriteResult:
        """Turn a trip into a tombstone; atomic and idempotent."""
        self._check_persistence()
        outcome, *_ = self._call(self._delete, self._keys(ns, trip_id), [if_match or "", _now(), trip_id])
        return WriteResult(outcome.decode(), self.get(ns, trip_id))

    def _many(self, ns: str, ids: list[str]) -> list[Trip]:
        """The stored state of several trips in one round trip (ids never stored are left out)."""
        pipe = self.client.pipeline(transaction=False)
        for trip_id in ids:
            pipe.hgetall(self._keys(ns, trip_id)[0])
        return [_trip(i, raw) for i, raw in zip(ids, self._call(pipe.execute)) if raw]

    def list(self, ns: str) -> list[Trip]:
        """The token's live trips, by id."""
        ids = sorted(i.decode() for i in self._call(self.client.smembers, self._keys(ns, "")[1]))
        return [t for t in self._many(ns, ids) if not t.deleted]

    def changes(self, ns: str, cursor: str, limit: int) -> tuple[list[Trip], str, bool]:
        """Trips changed after ``cursor`` (their latest state, tombstones included), the next cursor, and
        whether more follow."""
        start = "-" if cursor == "0" else f"({cursor}"
        entries = self._call(self.client.xrange, self._keys(ns, "")[2], start, "+", limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        order: dict[str, None] = {}
        for _, fields in entries:
            trip_id = fields[b"id"].decode()
            order.pop(trip_id, None)
            order[trip_id] = None  # a trip comes once, at the place of its last change in the page
        return self._many(ns, list(order)), (entries[-1][0].decode() if entries else cursor), more


def _trip(trip_id: str, raw: dict) -> Trip:
    deleted = raw[b"deleted"] == b"1"
    return Trip(trip_id, {} if deleted else json.loads(raw[b"body"]), int(raw[b"version"]), deleted,
                raw[b"updated_at"].decode(), raw[b"hash"].decode())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
