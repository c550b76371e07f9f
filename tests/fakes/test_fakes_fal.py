"""The fal fake's own surface, spoken to with plain httpx: the parts FalProvider never exercises
(queue positions, logs, the sync route, cancel replies) must still be what PROVIDERS.md §4 says."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.fal import FakeFal

KEY = {"Authorization": "Key test-key"}


@pytest.fixture
def fake():
    with FakeFal(queued_polls=2, running_polls=1) as server:
        yield server
    assert not server.errors, server.errors


def test_a_job_walks_in_queue_in_progress_completed(fake):
    with httpx.Client(headers=KEY) as c:
        sub = c.post(f"{fake.url}/fal-ai/flux/dev", json={"prompt": "x"}).json()
        assert sub["status"] == "IN_QUEUE" and sub["queue_position"] == 0
        assert sub["status_url"] == f"{fake.url}/fal-ai/flux/requests/{sub['request_id']}/status"
        early = c.get(sub["response_url"])
        assert early.status_code == 400
        replies = [c.get(sub["status_url"], params={"logs": v}) for v in ("1", "true", "0", "false")]
        assert [r.status_code for r in replies] == [202, 202, 202, 200]
        assert [r.json()["status"] for r in replies] == ["IN_QUEUE", "IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
        assert replies[0].json()["queue_position"] == 1 and replies[2].json()["logs"] is None
        assert replies[3].json()["metrics"]["inference_time"] > 0 and "error" not in replies[3].json()
        out = c.get(sub["response_url"]).json()
        assert out["images"][0]["width"] == 1024 and out["images"][0]["height"] == 768  # landscape_4_3 default
        assert out["has_nsfw_concepts"] == [False]
        assert c.get(out["images"][0]["url"]).headers["content-type"] == "image/jpeg"
        assert c.put(sub["cancel_url"]).json() == {"status": "ALREADY_COMPLETED"}
        assert c.put(f"{fake.url}/fal-ai/flux/requests/nope/cancel").status_code == 404


def test_the_sub_path_is_not_part_of_the_status_url(fake):
    with httpx.Client(headers=KEY) as c:
        rid = c.post(f"{fake.url}/fal-ai/flux/schnell", json={"prompt": "x"}).json()["request_id"]
        assert c.get(f"{fake.url}/fal-ai/flux/schnell/requests/{rid}/status").status_code == 404


def test_cancel_a_queued_job(fake):
    with httpx.Client(headers=KEY) as c:
        sub = c.post(f"{fake.url}/fal-ai/wizper", json={"audio_url": "data:audio/wav;base64,AAAA"}).json()
        r = c.put(sub["cancel_url"])
        assert (r.status_code, r.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
        assert c.get(sub["status_url"]).json()["error"]


def test_sync_route_and_validation_errors(fake):
    with httpx.Client(headers=KEY) as c:
        ok = c.post(f"{fake.run_url}/fal-ai/fast-sdxl", json={"prompt": "x", "format": "png"})
        assert ok.status_code == 200 and ok.json()["images"][0]["content_type"] == "image/png"
        bad = c.post(f"{fake.run_url}/fal-ai/flux/schnell", json={"num_inference_steps": 40})
        assert bad.status_code == 422
        assert {tuple(i["loc"]) for i in bad.json()["detail"]} == {("body", "prompt"), ("body", "num_inference_steps")}


def test_auth_and_unknown_apps(fake):
    with httpx.Client() as c:
        assert c.post(f"{fake.url}/fal-ai/flux/dev", json={}).json() == {"detail": "Unauthorized"}
        assert c.post(f"{fake.url}/fal-ai/flux/dev", json={}, headers={"Authorization": "Bearer test-key"}).status_code == 401
        assert c.post(f"{fake.url}/fal-ai/nope", json={}, headers=KEY).status_code == 404
