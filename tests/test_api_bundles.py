"""``/v1/bundles`` and ``/v1/pois/changes``: downloads that resume and verify, deltas with tombstones."""

from __future__ import annotations

import hashlib
import json

import pytest

from poi_data import versions


@pytest.fixture(scope="module")
def manifest(client):
    resp = client.get("/v1/bundles/basin/manifest.json")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_bundles_are_listed_with_their_versions(client, manifest):
    resp = client.get("/v1/bundles")
    assert resp.status_code == 200
    rows = {b["region"]: b for b in resp.get_json()["bundles"]}
    assert set(rows) == {"basin", "lens-lievin", "douaisis", "valenciennois", "bethune-bruay"}
    basin = rows["basin"]
    assert basin["built"] and basin["bundle_version"] == manifest["bundle_version"]
    assert basin["total_bytes"] == sum(f["size"] for f in manifest["files"])
    assert basin["manifest"] == "/v1/bundles/basin/manifest.json"


def test_manifest_revalidates_with_its_etag(client, manifest):
    first = client.get("/v1/bundles/basin/manifest.json")
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get("/v1/bundles/basin/manifest.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_file_has_sha256_etag_and_is_immutable(client, manifest):
    entry = next(f for f in manifest["files"] if f["role"] == "pois")
    resp = client.get(f"/v1/bundles/basin/{entry['name']}")
    assert resp.status_code == 200
    assert resp.headers["ETag"] == f'"{entry["sha256"]}"'
    assert "immutable" in resp.headers["Cache-Control"] and resp.headers["Accept-Ranges"] == "bytes"
    assert hashlib.sha256(resp.data).hexdigest() == entry["sha256"]
    cached = client.get(f"/v1/bundles/basin/{entry['name']}", headers={"If-None-Match": resp.headers["ETag"]})
    assert cached.status_code == 304 and not cached.data


def test_cut_download_resumes_with_range_and_matches_the_hash(client, manifest):
    """The graph download is cut halfway; a Range request for the rest completes a file that hashes right."""
    entry = next(f for f in manifest["files"] if f["role"] == "graph")
    url = f"/v1/bundles/basin/{entry['name']}"
    half = entry["size"] // 2
    first = client.get(url, headers={"Range": f"bytes=0-{half - 1}"})
    assert first.status_code == 206 and len(first.data) == half
    partial = first.data
    assert hashlib.sha256(partial).hexdigest() != entry["sha256"]
    rest = client.get(url, headers={"Range": f"bytes={len(partial)}-", "If-Range": first.headers["ETag"]})
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes {half}-{entry['size'] - 1}/{entry['size']}"
    whole = partial + rest.data
    assert len(whole) == entry["size"] and hashlib.sha256(whole).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("header", ["bytes=abc", "lines=1-2", "bytes=5-1", "bytes"])
def test_a_range_that_does_not_parse_is_ignored(client, manifest, header):
    """RFC 9110: an unparseable Range is ignored, so the whole file comes back (not a 416)."""
    entry = next(f for f in manifest["files"] if f["role"] == "circuits")
    resp = client.get(f"/v1/bundles/basin/{entry['name']}", headers={"Range": header})
    assert resp.status_code == 200 and len(resp.data) == entry["size"]


def test_a_range_past_the_end_is_a_416_with_content_range(client, manifest):
    entry = next(f for f in manifest["files"] if f["role"] == "circuits")
    resp = client.get(f"/v1/bundles/basin/{entry['name']}", headers={"Range": f"bytes={entry['size'] + 10}-"})
    assert resp.status_code == 416 and resp.mimetype == "application/problem+json"
    assert resp.headers["Content-Range"] == f"bytes */{entry['size']}"


def test_stale_if_range_restarts_the_download(client, manifest):
    entry = next(f for f in manifest["files"] if f["role"] == "circuits")
    resp = client.get(f"/v1/bundles/basin/{entry['name']}", headers={"Range": "bytes=100-", "If-Range": '"old"'})
    assert resp.status_code == 200 and len(resp.data) == entry["size"]


@pytest.mark.parametrize("url, field", [
    ("/v1/bundles/atlantis/manifest.json", "region"),
    ("/v1/bundles/atlantis/graph.bin.gz", "region"),
    ("/v1/bundles/basin/graph.0000000000000000.bin.gz", "name"),
    ("/v1/bundles/basin/.manifest.json.tmp", "name"),
    ("/v1/bundles/basin/..%2F..%2Fgraph-8ac3570255d9b46e06c1.npz", None),  # a slash matches no route
])
def test_unknown_region_or_file_is_a_404_problem(client, url, field):
    resp = client.get(url)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert resp.get_json().get("field") == field


def test_unsatisfiable_range_is_a_416(client, manifest):
    entry = next(f for f in manifest["files"] if f["role"] == "pois")
    resp = client.get(f"/v1/bundles/basin/{entry['name']}", headers={"Range": f"bytes={entry['size'] + 10}-"})
    assert resp.status_code == 416


# -- POI deltas --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def older_version(client, cfg):
    """An older catalogue version as the server would have kept it: 3 POIs it lacked, 2 it described
    differently, and 2 it had that are gone now (their ids made from real ones)."""
    state = client.application.extensions["galibot.graph"]
    current = state.poi_fingerprints
    ids = sorted(current)
    lacked, differed = ids[:3], ids[3:5]
    old = {pid: fp for pid, fp in current.items() if pid not in lacked}
    old.update({pid: "0" * 16 for pid in differed})
    old.update({f"{ids[5]}-old": "1" * 16, f"{ids[6]}-old": "2" * 16})
    path = cfg.cache_dir / "poi-versions" / "test-older.json"
    path.write_text(json.dumps({"version": "test-older", "data_version": "test-older-data", "fingerprints": old}))
    index = [v for v in versions.read_index(cfg) if not v["version"].startswith("test-")]
    (cfg.cache_dir / "poi-versions" / "index.json").write_text(json.dumps(
        [{"version": "test-older", "data_version": "test-older-data", "first_served": "2021-08-01T00:00:00+00:00"},
         *index, {"version": "test-newer", "data_version": "test-newer-data", "first_served": "2099-01-01"}]))
    yield {"lacked": lacked, "differed": differed, "gone": [f"{ids[5]}-old", f"{ids[6]}-old"]}
    path.unlink()
    (cfg.cache_dir / "poi-versions" / "index.json").write_text(json.dumps(index))


def test_poi_changes_since_an_older_version(client, older_version, manifest):
    resp = client.get("/v1/pois/changes?since=test-older")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["since"] == "test-older" and body["version"] == manifest["poi_version"]
    assert sorted(f["id"] for f in body["added"]) == older_version["lacked"]
    assert sorted(f["id"] for f in body["changed"]) == older_version["differed"]
    assert body["removed"] == [{"id": pid, "deleted": True} for pid in sorted(older_version["gone"])]
    assert set(body["added"][0]["properties"]) >= {"name", "themes", "description", "source"}
    by_data_version = client.get("/v1/pois/changes?since=test-older-data").get_json()
    assert by_data_version["removed"] == body["removed"]


def test_poi_changes_since_the_current_version_are_empty(client, manifest):
    for since in (manifest["poi_version"], manifest["data_version"]):
        body = client.get(f"/v1/pois/changes?since={since}").get_json()
        assert body["added"] == body["changed"] == body["removed"] == []


@pytest.mark.parametrize("since, status", [("never-served", 404), ("test-newer", 409), ("", 422)])
def test_poi_changes_refuse_unknown_or_backward_versions(client, older_version, since, status):
    resp = client.get(f"/v1/pois/changes?since={since}")
    assert resp.status_code == status and resp.get_json()["field"] == "since"
