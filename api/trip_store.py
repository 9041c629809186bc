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
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

PREFIX = "galibot:trips"
#: A cursor: ``0`` or a Redis stream id ``<ms>-<seq>``. A stream id's parts are unsigned 64-bit integers; 19 digits
#: always fit (the feed's own ids have 13 and a few), so the pattern /openapi.json states is the whole rule.
CURSOR_RE = re.compile(r"^(0|[0-9]{1,19}-[0-9]{1,19})$")

FEED_PAGE_MAX = 500
LIST_PAGE_MAX = 500

#: Per token: at most this many live trips, and this many bytes of them (what one device or user needs many times
#: over); a write past either is refused with 413.
MAX_TRIPS_PER_TOKEN = 500
MAX_BYTES_PER_TOKEN = 8 * 1024 * 1024
#: The change feed keeps FEED_RETENTION_S of changes and at most FEED_MAX_ENTRIES per token; a tombstone lives as
#: long. A device whose cursor is older gets 410 and lists its trips again.
FEED_RETENTION_S = 30 * 24 * 3600
FEED_MAX_ENTRIES = 5000

# Shared by both scripts: append to the feed, then trim it by age and length; remember where it now starts;
# and the token's bytes in use.
_FEED = """
local function feed(key, floor_key, id, op, version, min_ms, max_len)
  local at = redis.call('XADD', key, '*', 'id', id, 'op', op, 'version', version)
  local cut = redis.call('XTRIM', key, 'MINID', min_ms) + redis.call('XTRIM', key, 'MAXLEN', max_len)
  if cut > 0 then
    local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)
    if first[1] then redis.call('SET', floor_key, first[1][1]) end
  end
  return at
end

-- The token's bytes in use. A token whose trips were stored before this count existed has no count yet: its
-- live trips are measured once, here, so deleting them can never take the count below zero.
local function usage(trip_key, id, ids_key, usage_key)
  local used = redis.call('GET', usage_key)
  if used then return tonumber(used) end
  local prefix = string.sub(trip_key, 1, #trip_key - #id)
  local total = 0
  for _, other in ipairs(redis.call('SMEMBERS', ids_key)) do
    total = total + redis.call('HSTRLEN', prefix .. other, 'body')
  end
  redis.call('SET', usage_key, total)
  return total
end
"""

# KEYS: trip, ids, feed, usage, floor. ARGV: body, hash, if-match, base version, now, id, min feed id, max feed
# length, max trips, max bytes.
_PUT = _FEED + """
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
local old = 0
if live then old = redis.call('HSTRLEN', KEYS[1], 'body') end
if not live and redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[9]) then return {'quota_count', version} end
local used = usage(KEYS[1], ARGV[6], KEYS[2], KEYS[4])
if used - old + string.len(ARGV[1]) > tonumber(ARGV[10]) then return {'quota_bytes', version} end
version = version + 1
redis.call('HSET', KEYS[1], 'body', ARGV[1], 'hash', ARGV[2], 'version', version, 'deleted', '0', 'updated_at', ARGV[5])
redis.call('PERSIST', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[6])
redis.call('INCRBY', KEYS[4], string.len(ARGV[1]) - old)
local at = feed(KEYS[3], KEYS[5], ARGV[6], 'put', version, ARGV[7], ARGV[8])
if version == 1 then return {'created', version, at} end
return {'updated', version, at}
"""

# KEYS: trip, ids, feed, usage, floor. ARGV: if-match, now, id, min feed id, max feed length, tombstone TTL.
_DELETE = _FEED + """
local cur = redis.call('HMGET', KEYS[1], 'version', 'hash', 'deleted')
if cur[1] == false then return {'missing', 0} end
local version = tonumber(cur[1])
if cur[3] == '1' then return {'gone', version} end
local etag = cur[1] .. '.' .. string.sub(cur[2], 1, 16)
if ARGV[1] ~= '' and ARGV[1] ~= '*' and ARGV[1] ~= etag then return {'precondition', version} end
version = version + 1
usage(KEYS[1], ARGV[3], KEYS[2], KEYS[4])
redis.call('DECRBY', KEYS[4], redis.call('HSTRLEN', KEYS[1], 'body'))
redis.call('HSET', KEYS[1], 'body', '', 'hash', '', 'version', version, 'deleted', '1', 'updated_at', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('SREM', KEYS[2], ARGV[3])
local at = feed(KEYS[3], KEYS[5], ARGV[3], 'delete', version, ARGV[4], ARGV[5])
return {'deleted', version, at}
"""


class StoreUnavailable(Exception):
    """Redis is down, or does not persist: a trip cannot be stored safely."""


class CursorExpired(Exception):
    """The feed no longer holds the changes after this cursor (trimmed by age or length): list the trips again."""

    def __init__(self, floor: str) -> None:
        super().__init__(f"the change feed now starts at {floor}")
        self.floor = floor


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
    or why it did nothing: ``precondition`` (If-Match), ``behind``/``ahead`` (base version), ``missing``,
    ``quota_count``/``quota_bytes`` (the token's quota)."""

    outcome: str
    trip: Trip | None


def namespace(token: str) -> str:
    """A token's key space: a hash, so keys never hold the token and one token cannot name another's keys."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


def canonical(content: dict) -> tuple[str, str]:
    """The stored form of a trip's content and its sha256."""
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return body, hashlib.sha256(body.encode("utf-8")).hexdigest()


class DurableStore:
    """What every store of users' data in Redis shares: one client, errors as ``StoreUnavailable`` (503), and
    writes refused unless Redis persists with AOF and never evicts keys without a TTL. ``noun`` names what it keeps
    in those messages."""

    noun = "record"

    def __init__(self, client: redis.Redis | None) -> None:
        self.client = client
        self._persistent = False

    def _call(self, fn, *args):
        """Run a Redis call; StoreUnavailable when Redis cannot be reached."""
        if self.client is None:
            raise StoreUnavailable(f"no Redis is configured (REDIS_URL); {self.noun}s cannot be stored")
        try:
            return fn(*args)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise StoreUnavailable(f"the {self.noun} store (Redis) is unreachable: {exc}") from None
        except redis.exceptions.OutOfMemoryError:  # at maxmemory, with no cache entry left to evict
            raise StoreUnavailable(f"the {self.noun} store (Redis) is full; retry later") from None
        except redis.ResponseError as exc:
            if "OOM" in str(exc) or "maxmemory" in str(exc):  # the same, reported from inside a script
                raise StoreUnavailable(f"the {self.noun} store (Redis) is full; retry later") from None
            raise

    def _check_persistence(self) -> None:
        """Refuse writes to a Redis without AOF, where an acknowledged write could be lost on a restart, or with a
        memory policy that could evict it."""
        if not self._persistent:
            info = self._call(self.client.info, "persistence")
            if not info.get("aof_enabled"):
                raise StoreUnavailable(f"the {self.noun} store (Redis) runs without AOF persistence; {self.noun}s "
                                       "are not accepted")
            policy = self._call(self.client.info, "memory").get("maxmemory_policy", "")
            if policy.startswith("allkeys"):
                raise StoreUnavailable(f"the {self.noun} store (Redis) evicts any key ({policy}), {self.noun}s "
                                       "too; it must evict only keys with a TTL (volatile-lru) or none")
            self._persistent = True


class TripStore(DurableStore):
    """The trips of every token in one Redis."""

    noun = "trip"

    def __init__(self, client: redis.Redis | None) -> None:
        super().__init__(client)
        self._put = client.register_script(_PUT) if client is not None else None
        self._delete = client.register_script(_DELETE) if client is not None else None

    def _keys(self, ns: str, trip_id: str) -> list[str]:
        """The trip, the token's live ids, its feed, its bytes in use and where its feed starts."""
        return [f"{PREFIX}:{ns}:trip:{trip_id}", f"{PREFIX}:{ns}:ids", f"{PREFIX}:{ns}:feed", f"{PREFIX}:{ns}:bytes",
                f"{PREFIX}:{ns}:floor"]

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
                                  _now(), trip_id, _feed_floor(), FEED_MAX_ENTRIES, MAX_TRIPS_PER_TOKEN,
                                  MAX_BYTES_PER_TOKEN])
        return WriteResult(outcome.decode(), self.get(ns, trip_id))

    def delete(self, ns: str, trip_id: str, if_match: str | None) -> WriteResult:
        """Turn a trip into a tombstone; atomic and idempotent."""
        self._check_persistence()
        outcome, *_ = self._call(self._delete, self._keys(ns, trip_id),
                                 [if_match or "", _now(), trip_id, _feed_floor(), FEED_MAX_ENTRIES, FEED_RETENTION_S])
        return WriteResult(outcome.decode(), self.get(ns, trip_id))

    def _many(self, ns: str, ids: list[str]) -> list[Trip]:
        """The stored state of several trips in one round trip (ids never stored are left out)."""
        pipe = self.client.pipeline(transaction=False)
        for trip_id in ids:
            pipe.hgetall(self._keys(ns, trip_id)[0])
        return [_trip(i, raw) for i, raw in zip(ids, self._call(pipe.execute)) if raw]

    def list(self, ns: str, after: str = "", limit: int = LIST_PAGE_MAX) -> tuple[list[Trip], str | None]:
        """A page of the token's live trips, by id after ``after``, and the id to pass for the next page (None at
        the end); a token holds at most MAX_TRIPS_PER_TOKEN ids, so sorting them is cheap."""
        ids = sorted(i.decode() for i in self._call(self.client.smembers, self._keys(ns, "")[1]))
        ids = [i for i in ids if i > after][:limit + 1]
        page = [t for t in self._many(ns, ids[:limit]) if not t.deleted]
        return page, (ids[limit - 1] if len(ids) > limit else None)

    def changes(self, ns: str, cursor: str, limit: int) -> tuple[list[Trip], str, bool]:
        """Trips changed after ``cursor`` (their latest state, tombstones included), the next cursor, and
        whether more follow. CursorExpired when the feed was trimmed past the cursor."""
        keys = self._keys(ns, "")
        floor = self._call(self.client.get, keys[4])
        if cursor != "0" and floor is not None and _stream_id(cursor) < _stream_id(floor.decode()):
            raise CursorExpired(floor.decode())
        start = "-" if cursor == "0" else f"({cursor}"
        entries = self._call(self.client.xrange, keys[2], start, "+", limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        order: dict[str, dict] = {}
        for _, fields in entries:
            trip_id = fields[b"id"].decode()
            order.pop(trip_id, None)
            order[trip_id] = fields  # a trip comes once, at the place of its last change in the page
        stored = {t.id: t for t in self._many(ns, list(order))}
        trips = [stored.get(i) or _tombstone(i, f) for i, f in order.items()]
        return [t for t in trips if t is not None], (entries[-1][0].decode() if entries else cursor), more


def _tombstone(trip_id: str, fields: dict) -> Trip | None:
    """A deleted trip whose tombstone expired (or was evicted) still shows as deleted, from its feed entry."""
    if fields.get(b"op") != b"delete":
        return None
    return Trip(trip_id, {}, int(fields[b"version"]), True, "", "")


def _stream_id(text: str) -> tuple[int, int]:
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _feed_floor() -> str:
    """The oldest stream id the feed keeps: FEED_RETENTION_S ago (stream ids start with Unix milliseconds)."""
    return str(int((time.time() - FEED_RETENTION_S) * 1000))


def _trip(trip_id: str, raw: dict) -> Trip:
    deleted = raw[b"deleted"] == b"1"
    return Trip(trip_id, {} if deleted else json.loads(raw[b"body"]), int(raw[b"version"]), deleted,
                raw[b"updated_at"].decode(), raw[b"hash"].decode())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
