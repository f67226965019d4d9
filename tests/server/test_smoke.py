"""The served session end to end: create, a turn over HTTP, its events as SSE."""

from __future__ import annotations

from kode.protocol.codec import parse_event


def test_a_turn_over_http_and_its_events(live_server) -> None:
    with live_server.http() as http:
        created = http.post("/v1/sessions", json={})
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        reply = http.post(f"/v1/sessions/{session_id}/messages", json={"text": "echo me"})
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == "completed"
        assert reply.json()["result"] == "echo me"
        body = http.get(f"/v1/sessions/{session_id}/events", params={"follow": "false"}).text
    events = [parse_event(line[len("data: "):]) for line in body.splitlines() if line.startswith("data: ")]
    types = [event.type for event in events]
    assert types[0] == "session_started" and types[-1] == "turn_finished"
    assert [e.seq for e in events] == sorted({e.seq for e in events}), "ordered, no duplicates"
