"""``/v1/trips``: idempotent PUTs, optimistic concurrency, tombstones, the change feed, isolation between
tokens, and acknowledged writes that survive a Redis killed with SIGKILL (appendfsync always)."""

from __future__ import annotations

import threading
import uuid

import pytest

from api import create_app
from api.devices import make_token
from api.redis_server import EmbeddedRedis
from tests.conftest import LEWARDE, assert_problem
from tests.conftest import LOUVRE as LOUVRE_LENS

#: The app below signs device tokens with this secret, so the tests hold two devices' tokens from the start.
SECRET = "trips-test-secret"
TOKEN_A = make_token(SECRET.encode(), "device-a")
TOKEN_B = make_token(SECRET.encode(), "device-b")


@pytest.fixture(scope="module")
def env(cfg, basin_graph, tmp_path_factory):
    """An app on its own Redis, persistent (AOF, fsync on every write) so it can be killed and restarted."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("trips-redis"), appendfsync="always").start()
    app = create_app({"REDIS_URL": server.url, "GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": basin_graph,
                      "GALIBOT_SECRET": SECRET})
    holder = {"app": app, "redis": server}
    yield holder
    holder["redis"].stop()  # the one running now (a test may have restarted it)


@pytest.fixture()
def api(env):
    return env["app"].test_client()


def auth(token: str = TOKEN_A, **extra) -> dict:
    return {"Authorization": f"Bearer {token}", **extra}


def trip(name: str = "Louvre-Lens → Lewarde", **extra) -> dict:
    return {"name": name, "profile": "bike", "points": [LOUVRE_LENS, LEWARDE], "notes": "pique-nique au 11/19",
            **extra}


def put(api, trip_id: str, body: dict, token: str = TOKEN_A, **headers):
    return api.put(f"/v1/trips/{trip_id}", json=body, headers=auth(token, **headers))


def feed(api, token: str = TOKEN_A, cursor: str = "0") -> list[dict]:
    """Every change after ``cursor``, page by page."""
    out = []
    while True:
        body = api.get(f"/v1/trips/changes?cursor={cursor}&limit=7", headers=auth(token)).get_json()
        out += body["changes"]
        cursor = body["cursor"]
        if not body["more"]:
            return out


def test_create_read_and_replay(api):
    tid = str(uuid.uuid4())
    created = put(api, tid, trip())
    assert created.status_code == 201, created.get_json()
    stored = created.get_json()
    assert stored["version"] == 1 and stored["points"] == [LOUVRE_LENS, LEWARDE] and stored["settings"] == {}
    etag = created.headers["ETag"]
    got = api.get(f"/v1/trips/{tid}", headers=auth())
    assert got.status_code == 200 and got.headers["ETag"] == etag and got.get_json()["name"] == stored["name"]
    assert api.get(f"/v1/trips/{tid}", headers=auth(**{"If-None-Match": etag})).status_code == 304
    before = len(feed(api))
    replay = put(api, tid, trip(), **{"If-Match": etag})
    assert replay.status_code == 200 and replay.get_json()["version"] == 1 and replay.headers["ETag"] == etag
    again = put(api, tid, trip())  # a replay with no precondition, as a retried request would be
    assert again.status_code == 200 and again.get_json()["version"] == 1
    assert len(feed(api)) == before  # no-ops write nothing to the feed


def test_concurrent_edits_give_one_winner_and_one_412(env):
    app = env["app"]
    tid = str(uuid.uuid4())
    etag = put(app.test_client(), tid, trip()).headers["ETag"]
    barrier, results = threading.Barrier(2), {}

    def edit(device: str) -> None:
        client = app.test_client()
        barrier.wait()
        results[device] = put(client, tid, trip(notes=f"edited on {device}"), **{"If-Match": etag})

    threads = [threading.Thread(target=edit, args=(d,)) for d in ("phone", "tablet")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 412]
    winner = next(d for d, r in results.items() if r.status_code == 200)
    loser = next(r for r in results.values() if r.status_code == 412).get_json()
    assert loser["field"] == "If-Match" and loser["server_copy"]["notes"] == f"edited on {winner}"
    stored = app.test_client().get(f"/v1/trips/{tid}", headers=auth()).get_json()
    assert stored["version"] == 2 and stored["notes"] == f"edited on {winner}"


def test_body_version_that_goes_backwards_is_a_409_with_the_server_copy(api):
    tid = str(uuid.uuid4())
    put(api, tid, trip())
    put(api, tid, trip(notes="v2", version=1))
    stale = put(api, tid, trip(notes="from an old copy", version=1))
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["field"] == "version" and "behind" in body["detail"] and body["server_copy"]["notes"] == "v2"
    ahead = put(api, tid, trip(notes="from the future", version=9))
    assert ahead.status_code == 409 and "ahead" in ahead.get_json()["detail"]
    assert api.get(f"/v1/trips/{tid}", headers=auth()).get_json()["version"] == 2


@pytest.mark.parametrize("trip_id, body, headers, status, field", [
    ("not-a-uuid", trip(), {}, 400, "trip_id"),
    ("{id}", trip(notes="x" * 70_000), {}, 413, "body"),
    ("{id}", trip(points=[LOUVRE_LENS, [5.0, 45.0]]), {}, 422, "points[1]"),
    ("{id}", trip(points=[LOUVRE_LENS, [True, 50.4]]), {}, 422, "points[1]"),  # found by fuzzing: was a 500
    ("{id}", trip(points=[[2.8]]), {}, 422, "points[0]"),
    ("{id}", trip(profile="unicycle"), {}, 422, "profile"),
    ("{id}", {"name": "no points", "profile": "bike"}, {}, 422, "points"),
    ("{id}", trip(owner="someone else"), {}, 422, "owner"),
    ("{id}", trip(), {"If-Match": '"1.0000000000000000"'}, 412, "If-Match"),
    # found by fuzzing: these parsed as no condition at all, so a stale write went through
    ("{id}", trip(), {"If-Match": "{}"}, 400, "If-Match"),
    ("{id}", trip(), {"If-Match": "NaN"}, 400, "If-Match"),
    ("{id}", trip(), {"If-Match": 'W/"1.0000000000000000"'}, 400, "If-Match"),
    ("{id}", trip(), {"If-Match": '""'}, 400, "If-Match"),  # no tag of ours is empty; it read as no condition
])
def test_bad_writes_are_refused_and_change_nothing(api, trip_id, body, headers, status, field):
    tid = str(uuid.uuid4())
    first = put(api, tid, trip(name="kept"))
    before = feed(api)
    resp = put(api, trip_id.format(id=tid), body, **headers)
    assert resp.status_code == status and resp.mimetype == "application/problem+json"
    assert resp.get_json()["field"] == field
    kept = api.get(f"/v1/trips/{tid}", headers=auth())
    assert kept.get_json()["name"] == "kept" and kept.headers["ETag"] == first.headers["ETag"]
    assert feed(api) == before


def test_no_token_or_a_made_up_one_is_a_401(api):
    resp = api.put(f"/v1/trips/{uuid.uuid4()}", json=trip())
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.get("/v1/trips/changes", headers={"Authorization": "Bearer short"}).status_code == 401
    forged = make_token(b"another-secret", "device-a")  # the same device id, signed with another secret
    assert api.get("/v1/trips", headers=auth(forged)).status_code == 401
    assert api.get("/v1/trips", headers=auth(TOKEN_A[:-1] + ("A" if TOKEN_A[-1] != "A" else "B"))).status_code == 401


def test_a_device_token_from_the_server_opens_its_own_trips(api):
    made = api.post("/v1/devices")
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    token = made.get_json()["token"]
    assert token.split(".")[1] == made.get_json()["device_id"] and token != TOKEN_A
    lower = {"Authorization": f"bearer {token}"}  # the scheme is case-insensitive (RFC 9110)
    assert api.get("/v1/trips", headers=lower).get_json() == {"trips": [], "next": None}
    tid = str(uuid.uuid4())
    assert put(api, tid, trip(), token=token).status_code == 201
    assert [t["id"] for t in api.get("/v1/trips", headers=lower).get_json()["trips"]] == [tid]


def test_the_trip_list_comes_in_pages(api):
    token = make_token(SECRET.encode(), "device-pages")
    ids = sorted(str(uuid.uuid4()) for _ in range(5))
    for tid in ids:
        assert put(api, tid, trip(), token=token).status_code == 201
    seen, after = [], ""
    while True:
        page = api.get(f"/v1/trips?limit=2&after={after}", headers=auth(token)).get_json()
        assert len(page["trips"]) <= 2
        seen += [t["id"] for t in page["trips"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == ids


def test_a_tokens_quota_is_a_413_and_deleting_frees_it(api, monkeypatch):
    from api import trip_store

    token = make_token(SECRET.encode(), "device-quota")
    monkeypatch.setattr(trip_store, "MAX_TRIPS_PER_TOKEN", 3)
    ids = [str(uuid.uuid4()) for _ in range(4)]
    assert [put(api, tid, trip(), token=token).status_code for tid in ids] == [201, 201, 201, 413]
    assert_problem(put(api, ids[3], trip(), token=token), 413, "trip_id")
    assert api.delete(f"/v1/trips/{ids[0]}", headers=auth(token)).status_code == 204
    assert put(api, ids[3], trip(), token=token).status_code == 201
    monkeypatch.setattr(trip_store, "MAX_BYTES_PER_TOKEN", 2000)
    big = trip(notes="x" * 1900)  # alone under the 2,000 B, not beside the two others
    assert_problem(put(api, ids[1], big, token=token), 413, "body")
    assert api.get(f"/v1/trips/{ids[1]}", headers=auth(token)).get_json()["notes"] == trip()["notes"]


def test_trips_stored_before_the_byte_count_are_counted_once_never_below_zero(env, api):
    """A token whose trips predate the byte count (no count key) gets its live trips measured on its next write."""
    import redis as redis_client

    from api import trip_store

    token = make_token(SECRET.encode(), "device-before-the-count")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    assert [put(api, tid, trip(notes="n" * 500), token=token).status_code for tid in ids] == [201] * 3
    db = redis_client.Redis.from_url(env["redis"].url)
    key = f"{trip_store.PREFIX}:{trip_store.namespace(token)}:bytes"
    counted = int(db.get(key))
    db.delete(key)  # as stored before the count existed
    assert api.delete(f"/v1/trips/{ids[0]}", headers=auth(token)).status_code == 204
    bodies = sum(db.hstrlen(f"{trip_store.PREFIX}:{trip_store.namespace(token)}:trip:{tid}", "body")
                 for tid in ids[1:])
    assert int(db.get(key)) == bodies == counted * 2 // 3


def test_a_cursor_older_than_the_trimmed_feed_is_a_410(api, monkeypatch):
    from api import trip_store

    token = make_token(SECRET.encode(), "device-feed")
    monkeypatch.setattr(trip_store, "FEED_MAX_ENTRIES", 3)
    tid = str(uuid.uuid4())
    put(api, tid, trip(name="v1"), token=token)
    old = api.get("/v1/trips/changes", headers=auth(token)).get_json()["cursor"]
    for k in range(5):
        put(api, tid, trip(name=f"v{k + 2}"), token=token)
    gone = assert_problem(api.get(f"/v1/trips/changes?cursor={old}", headers=auth(token)), 410, "cursor")
    fresh = api.get(f"/v1/trips/changes?cursor={gone['cursor']}", headers=auth(token)).get_json()
    assert fresh["changes"][-1]["name"] == "v6"
    assert len(api.get("/v1/trips/changes", headers=auth(token)).get_json()["changes"]) == 1


def test_tokens_cannot_see_or_touch_each_others_trips(api):
    tid = str(uuid.uuid4())
    put(api, tid, trip(name="A's secret loop"))
    assert api.get(f"/v1/trips/{tid}", headers=auth(TOKEN_B)).status_code == 404
    assert all(t["id"] != tid for t in api.get("/v1/trips", headers=auth(TOKEN_B)).get_json()["trips"])
    assert all(t["id"] != tid for t in feed(api, TOKEN_B))
    assert api.delete(f"/v1/trips/{tid}", headers=auth(TOKEN_B)).status_code == 404
    overwrite = put(api, tid, trip(name="B's trip with A's id"), TOKEN_B)
    assert overwrite.status_code == 201  # a trip of B's own: A's is untouched
    assert api.get(f"/v1/trips/{tid}", headers=auth()).get_json()["name"] == "A's secret loop"
    guesses = [str(uuid.uuid4()) for _ in range(30)]
    assert {api.get(f"/v1/trips/{g}", headers=auth(TOKEN_B)).status_code for g in guesses} == {404}
    assert api.get(f"/v1/trips/{tid}", headers=auth(make_token(SECRET.encode(), "device-c"))).status_code == 404


def test_delete_leaves_a_tombstone_in_the_feed(api):
    tid = str(uuid.uuid4())
    etag = put(api, tid, trip()).headers["ETag"]
    cursor = api.get("/v1/trips/changes?limit=500", headers=auth()).get_json()["cursor"]
    while True:  # the end of the feed
        page = api.get(f"/v1/trips/changes?cursor={cursor}&limit=500", headers=auth()).get_json()
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert api.delete(f"/v1/trips/{tid}", headers=auth(**{"If-Match": '"9.0000000000000000"'})).status_code == 412
    assert api.delete(f"/v1/trips/{tid}", headers=auth(**{"If-Match": "{}"})).status_code == 400
    assert api.delete(f"/v1/trips/{tid}", headers=auth(**{"If-Match": etag})).status_code == 204
    assert api.get(f"/v1/trips/{tid}", headers=auth()).status_code == 410
    assert api.delete(f"/v1/trips/{tid}", headers=auth()).status_code == 204  # idempotent
    changes = feed(api, cursor=cursor)
    assert [(c["id"], c["deleted"], c["version"]) for c in changes] == [(tid, True, 2)]
    assert all(t["id"] != tid for t in api.get("/v1/trips", headers=auth()).get_json()["trips"])
    recreated = put(api, tid, trip(name="back again"))
    assert recreated.status_code == 200 and recreated.get_json()["version"] == 3


def test_feed_gives_each_trip_once_per_page_in_its_latest_state(api):
    token = make_token(SECRET.encode(), "device-pager")
    ids = [str(uuid.uuid4()) for _ in range(12)]
    for i, tid in enumerate(ids):
        put(api, tid, trip(name=f"trip {i}"), token)
    put(api, ids[0], trip(name="trip 0, renamed"), token)
    one_page = api.get("/v1/trips/changes?limit=500", headers=auth(token)).get_json()
    assert [c["id"] for c in one_page["changes"]] == ids[1:] + ids[:1]  # in the order of their last change
    assert not one_page["more"] and one_page["changes"][-1]["name"] == "trip 0, renamed"
    paged = feed(api, token)  # pages of 7: trip 0 comes in the first page and again in the second
    assert [c["id"] for c in paged] == ids + ids[:1]
    assert {(c["name"], c["version"]) for c in paged if c["id"] == ids[0]} == {("trip 0, renamed", 2)}
    bad = api.get("/v1/trips/changes?cursor=yesterday", headers=auth(token))
    assert bad.status_code == 422 and bad.get_json()["field"] == "cursor"


def test_acknowledged_writes_survive_redis_sigkill(env):
    """50 acknowledged writes, Redis killed with SIGKILL, restarted on the same AOF: the feed holds them all."""
    app, server = env["app"], env["redis"]
    api = app.test_client()
    token = make_token(SECRET.encode(), "device-crash")
    acked = {}
    for i in range(50):
        tid = str(uuid.uuid4())
        resp = put(api, tid, trip(name=f"before the crash {i}"), token)
        assert resp.status_code == 201
        acked[tid] = resp.get_json()["version"]
    server.kill()
    down = put(api, str(uuid.uuid4()), trip(), token)
    assert down.status_code == 503 and down.headers["Retry-After"]
    env["redis"] = EmbeddedRedis(server.data_dir, port=server.port, appendfsync="always").start()  # same AOF
    changes = {c["id"]: c for c in feed(api, token)}
    assert {tid: changes[tid]["version"] for tid in acked} == acked
    assert all(changes[tid]["name"].startswith("before the crash") for tid in acked)


def test_a_full_redis_refuses_trips_with_a_503_and_keeps_every_acknowledged_one(cfg, basin_graph, tmp_path):
    """At maxmemory with nothing volatile left to evict, a trip write is a 503; no acknowledged trip is evicted."""
    with EmbeddedRedis(tmp_path / "redis", appendfsync="always", maxmemory="3mb") as server:
        app = create_app({"REDIS_URL": server.url, "GALIBOT_SETTINGS": cfg, "GALIBOT_GRAPH": basin_graph,
                          "GALIBOT_SECRET": SECRET})
        api = app.test_client()
        token = make_token(SECRET.encode(), "device-full")
        body = trip(notes="n" * 20_000, settings={"blob": "s" * 40_000})
        acked, codes = [], []
        for _ in range(120):
            tid = str(uuid.uuid4())
            resp = put(api, tid, body, token=token)
            codes.append(resp.status_code)
            if resp.status_code == 201:
                acked.append(tid)
            elif resp.status_code == 503:
                assert resp.mimetype == "application/problem+json" and resp.headers["Retry-After"]
                break
        assert codes[-1] == 503 and len(acked) >= 10, codes
        assert all(api.get(f"/v1/trips/{tid}", headers=auth(token)).status_code == 200 for tid in acked)
