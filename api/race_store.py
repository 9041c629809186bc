"""Organisers' races in Redis: the uploaded course, the race as computed, its owner and its versions.

A race is one hash, ``galibot:races:race:<id>``: the owner (the device id of the signed token that created it),
the revision (1, 2, … one per published version), the organiser's version label, when it was published, the
computed race (zlib-compressed JSON) and the upload as sent (zlib-compressed GPX), so a new version that changes
only the checkpoints re-uses the course. Races have no TTL, so the embedded Redis (``volatile-lru``) never evicts
them, and writes need AOF like trips (``DurableStore``). A publish is a WATCH/MULTI transaction on the race's key:
two publishers racing get one version each, never a lost one.
"""

from __future__ import annotations

import json
import secrets
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from .trip_store import DurableStore

PREFIX = "galibot:races"
#: Per device token: at most this many races (an organiser's whole calendar many times over).
MAX_RACES_PER_TOKEN = 50
#: A race as stored (both compressed blobs) is at most this large; a 10 MB GPX of 500,000 points compresses to
#: about 3 MB and its computed race to about as much.
MAX_RACE_BYTES = 16 * 1024 * 1024
#: Race ids: 12 URL-safe characters (72 random bits).
ID_BYTES = 9
ID_PATTERN = r"[A-Za-z0-9_-]{12}"


class RaceQuota(Exception):
    """The token holds MAX_RACES_PER_TOKEN races already, or the race is over MAX_RACE_BYTES."""


class NotOwner(Exception):
    """Another device's token tried to publish a version of a race."""


class RaceChanged(Exception):
    """The race was published again while this version was being computed: retry on the new revision."""


@dataclass(frozen=True)
class StoredRace:
    """A race as stored: who owns it, which revision it is, the computed race and the upload."""

    id: str
    owner: str
    revision: int
    version: str
    published_at: str
    doc: dict
    upload: bytes


def _pack(value: bytes) -> bytes:
    return zlib.compress(value, 6)


class RaceStore(DurableStore):
    """Every organiser's races in one Redis."""

    noun = "race"

    def _key(self, race_id: str) -> str:
        return f"{PREFIX}:race:{race_id}"

    def _owned(self, owner: str) -> str:
        return f"{PREFIX}:owner:{owner}"

    def get(self, race_id: str) -> StoredRace | None:
        """The race, or None."""
        raw = self._call(self.client.hgetall, self._key(race_id))
        if not raw:
            return None
        return StoredRace(race_id, raw[b"owner"].decode(), int(raw[b"revision"]), raw[b"version"].decode(),
                          raw[b"published_at"].decode(), json.loads(zlib.decompress(raw[b"doc"])),
                          zlib.decompress(raw[b"upload"]))

    def _fields(self, owner: str, revision: int, version: str, doc: dict, upload: bytes) -> dict:
        fields = {"owner": owner, "revision": revision, "version": version,
                  "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
                  "doc": _pack(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()),
                  "upload": _pack(upload)}
        if len(fields["doc"]) + len(fields["upload"]) > MAX_RACE_BYTES:
            raise RaceQuota(f"the race takes {len(fields['doc']) + len(fields['upload']):,} bytes stored; at most "
                            f"{MAX_RACE_BYTES:,}")
        return fields

    def create(self, owner: str, version: str, doc: dict, upload: bytes) -> StoredRace:
        """Store a new race of ``owner`` under a new id (revision 1). Raises RaceQuota past the token's quota."""
        self._check_persistence()
        fields = self._fields(owner, 1, version, doc, upload)
        race_id = secrets.token_urlsafe(ID_BYTES)
        owned = self._owned(owner)

        def write(pipe: redis.client.Pipeline) -> None:
            if pipe.scard(owned) >= MAX_RACES_PER_TOKEN:
                raise RaceQuota(f"this token holds {MAX_RACES_PER_TOKEN} races, the most one may")
            pipe.multi()
            pipe.hset(self._key(race_id), mapping=fields)
            pipe.sadd(owned, race_id)

        self._call(self.client.transaction, write, owned)
        return _stored(race_id, fields, doc, upload)

    def publish(self, race_id: str, owner: str, base_revision: int, version: str, doc: dict,
                upload: bytes) -> StoredRace:
        """A new version of the race: its revision goes up by one. Raises NotOwner for another owner's race and
        RaceChanged when the race is no longer at ``base_revision`` (published meanwhile)."""
        self._check_persistence()
        key = self._key(race_id)
        fields = self._fields(owner, base_revision + 1, version, doc, upload)  # outside the watch: no work redone

        def write(pipe: redis.client.Pipeline) -> None:
            current = pipe.hmget(key, "owner", "revision")
            if current[0] is None:
                raise RaceChanged("the race no longer exists")
            if current[0].decode() != owner:
                raise NotOwner("only the device token that created a race publishes its versions")
            if int(current[1]) != base_revision:
                raise RaceChanged(f"the race was published again (revision {int(current[1])}); retry")
            pipe.multi()
            pipe.hset(key, mapping=fields)

        self._call(self.client.transaction, write, key)
        return _stored(race_id, fields, doc, upload)


def _stored(race_id: str, fields: dict, doc: dict, upload: bytes) -> StoredRace:
    """The race just written, from what was written (not read back and decompressed again)."""
    return StoredRace(race_id, fields["owner"], fields["revision"], fields["version"], fields["published_at"], doc,
                      upload)
