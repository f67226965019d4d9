"""Server fan-out: 100 SSE subscribers following one session through a ~1,000-event turn.

Three processes, so no side measures its own starvation:
- `kode serve --port 0` (a subprocess, 127.0.0.1), the real litellm client inside it;
- this process: the fake provider (scripted by a responder) and the driver posting the turn;
- a subscriber process (this file with `--subscribers`): 100 `GET /v1/sessions/{id}/events
  ?since=S` streams (follow) on one asyncio loop over httpx, every one attached (its `retry:`
  preamble read) before the turn is posted. Each SSE frame is stamped with time.time() as it is
  split out of the stream; its JSON is decoded after the turn, so decoding does not delay the
  other 99 streams.
Latency = subscriber's stamp - the event's `time` (set by the server's event log when the event
is appended; same machine, same clock). It includes the store: a durable event is shown to
subscribers only once SQLite has committed it. And it includes the subscriber process reading
100 sockets one after another: "first subscriber" (per event, the earliest of the 100) is the
closest to the server's own share; "last" is the full fan-out. Delivery: every subscriber must
receive exactly the seqs S+1..end of the turn, in order, with no `lagged` event.

Two turns, because kode coalesces streamed text to at most one delta per ~20 ms per message
(kode/core/coalesce.py), so one streamed reply cannot be 1,000 events in a burst:
- burst: the model calls read_file 20 times in parallel per reply, 16 replies, then answers:
  ~1,350 events (tool_call_requested/started/finished, agent_state, message_completed, a few
  text deltas), produced as fast as the server runs the turn. The worst case for fan-out.
- streamed: one reply streamed as 1,000 chunks 25 ms apart, so each becomes its own text_delta
  (~40 events/s for ~25 s; under CPU contention a few arrive < 20 ms apart and merge): what a fast model looks like, the steady case.

    python benchmarks/server_fanout.py [--quick]     (--quick: 300 streamed chunks)
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

SUBSCRIBERS = 100
BURST_ROUNDS = 16
BURST_CALLS = 20
STREAM_CHUNKS = 1000
STREAM_DELAY = 0.025
TIMEOUT = 120.0


# ---- the subscriber process ------------------------------------------------------------------


async def _subscriber(
    client: Any, session_id: str, since: int, attached: asyncio.Event, count: list[int], total: int
) -> dict[str, Any]:
    """One follow stream: (arrival time, seq, type, raw data) per frame until the root turn ends."""
    frames: list[tuple[float, int, str, bytes]] = []
    async with client.stream("GET", f"/v1/sessions/{session_id}/events", params={"since": since}) as response:
        if response.status_code != 200:
            body = await response.aread()
            raise RuntimeError(f"events: HTTP {response.status_code}: {body[:200]!r}")
        buffer = b""
        preamble = False
        async for chunk in response.aiter_raw():
            buffer += chunk
            *complete, buffer = buffer.split(b"\n\n")
            for frame in complete:
                now = time.time()
                seq, kind, data = -1, "", b""
                for line in frame.split(b"\n"):
                    if line.startswith(b"id: "):
                        seq = int(line[4:])
                    elif line.startswith(b"event: "):
                        kind = line[7:].decode()
                    elif line.startswith(b"data: "):
                        data = line[6:]
                    elif line.startswith(b"retry:") and not preamble:
                        preamble = True  # the server has attached this stream to the session's log
                        count[0] += 1
                        if count[0] == total:
                            attached.set()
                if seq < 0:
                    continue  # keep-alive, retry, end
                frames.append((now, seq, kind, data))
                if kind == "turn_finished" and b'"agent_id":"root"' in data:
                    return {"frames": frames}
    return {"frames": frames, "error": "stream ended before the turn finished"}


async def _subscribe_all(url: str, token: str, session_id: str, since: int, n: int) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=n + 8, max_keepalive_connections=n + 8)
    timeout = httpx.Timeout(TIMEOUT, connect=10.0)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=timeout
    ) as client:
        attached = asyncio.Event()
        count = [0]
        tasks = [asyncio.create_task(_subscriber(client, session_id, since, attached, count, n)) for _ in range(n)]
        waiter = asyncio.create_task(attached.wait())
        done, _ = await asyncio.wait([waiter, *tasks], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            for task in tasks:
                task.cancel()
            errors = [repr(t.exception()) for t in tasks if t.done() and not t.cancelled() and t.exception()]
            raise RuntimeError(f"only {count[0]}/{n} streams attached: {errors[:3]}")
        print("READY", flush=True)  # the driver posts the turn now
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), TIMEOUT)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    subscribers = []
    for result in results:
        if isinstance(result, BaseException):
            subscribers.append({"error": repr(result), "seqs": [], "lat": [], "types": []})
            continue
        seqs, lat, types = [], [], []
        for arrived, seq, kind, data in result["frames"]:
            stamp = datetime.fromisoformat(json.loads(data)["time"]).timestamp()
            seqs.append(seq)
            lat.append(arrived - stamp)
            types.append(kind)
        subscribers.append(
            {
                "error": result.get("error"),
                "seqs": seqs,
                "lat": lat,
                "types": types,
                "last_arrival": result["frames"][-1][0] if result["frames"] else 0.0,
            }
        )
    return {"subscribers": subscribers, "cpu": cpu.ru_utime + cpu.ru_stime}


def subscriber_process(argv: list[str]) -> None:
    url, session_id, since, n = argv[0], argv[1], int(argv[2]), int(argv[3])
    token = os.environ["KODE_BENCH_TOKEN"]  # not on the command line, where `ps` shows it
    result = asyncio.run(_subscribe_all(url, token, session_id, since, n))
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


# ---- the driver --------------------------------------------------------------------------------


def _responder(request: Any) -> Any:
    from kode.testing.fake_provider import Reply, ToolCall

    prompt = request.last_user_text
    messages = request.messages
    last_user = max(
        i for i, m in enumerate(messages) if m.get("role") == "user" and isinstance(m.get("content"), str | list)
    )
    rounds = sum(1 for m in messages[last_user:] if m.get("role") == "assistant")
    if prompt.startswith("burst"):
        if rounds < BURST_ROUNDS:
            calls = [
                ToolCall("read_file", {"path": f"src/module_{i % 20}.py", "limit": 3}, id=f"call_{rounds}_{i}")
                for i in range(BURST_CALLS)
            ]
            return Reply(text=f"Reading batch {rounds + 1} of {BURST_ROUNDS}.", tool_calls=calls, usage=(500, 40))
        return Reply(text="Read them all; nothing to change.", usage=(500, 10))
    if prompt.startswith("stream"):
        text = "".join(
            f"tok{i:04d} " for i in range(STREAM_CHUNKS)
        )  # distinct chunks: litellm aborts a stream repeating one chunk
        return Reply(text=text, chunk_size=8, delay=STREAM_DELAY, usage=(100, STREAM_CHUNKS))
    return Reply(text="warmed up", usage=(10, 2))


def _percentile(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def run_turn(server: Any, http: Any, session_id: str, prompt: str, subscribers: int) -> dict[str, Any]:
    """Attach `subscribers` streams in a child process, post the turn, check and time delivery."""
    since = http.get(f"/v1/sessions/{session_id}").json()["last_seq"]
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--subscribers",
            server.url,
            session_id,
            str(since),
            str(subscribers),
        ],
        env={**os.environ, "KODE_BENCH_TOKEN": server.token},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(child.stderr or []), daemon=True).start()  # type: ignore[arg-type]
    try:
        assert child.stdout is not None
        ready = _readline(child, 40.0)
        if ready.strip() != "READY":
            raise RuntimeError(f"subscribers did not attach: {ready!r} {''.join(errors)[-2000:]}")
        cpu_before = server.cpu_seconds()
        posted = time.time()
        response = http.post(f"/v1/sessions/{session_id}/messages", json={"text": prompt}, timeout=TIMEOUT)
        finished = time.time()
        response.raise_for_status()
        line = _readline(child, TIMEOUT)
        cpu_server = server.cpu_seconds() - cpu_before
        if not line.startswith("RESULT "):
            raise RuntimeError(f"subscribers failed: {line[:200]!r} {''.join(errors)[-2000:]}")
        result = json.loads(line[len("RESULT ") :])
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
    # The canonical list: every event of the turn, from the server (deltas are still in its ring).
    expected: list[int] = []
    types: Counter[str] = Counter()
    with http.stream("GET", f"/v1/sessions/{session_id}/events", params={"since": since, "follow": "false"}) as r:
        for line in r.iter_lines():
            if line.startswith("id: "):
                expected.append(int(line[4:]))
            elif line.startswith("event: ") and line != "event: end":
                types[line[7:]] += 1
    subs = result["subscribers"]
    complete = sum(1 for s in subs if s["seqs"] == expected and not s["error"])
    delivered = sum(len(set(s["seqs"]) & set(expected)) for s in subs)
    lagged = sum(s["types"].count("lagged") for s in subs)
    latencies = sorted(x for s in subs for x in s["lat"])
    by_seq: dict[int, list[float]] = {}
    for s in subs:
        for seq, lat in zip(s["seqs"], s["lat"]):
            by_seq.setdefault(seq, []).append(lat)
    first = sorted(min(v) for v in by_seq.values())  # the first subscriber to have each event
    last = sorted(max(v) for v in by_seq.values())  # the last one
    last_arrival = max((s.get("last_arrival", 0.0) for s in subs), default=0.0)
    return {
        "events": len(expected),
        "types": types,
        "subscribers": len(subs),
        "complete": complete,
        "delivered": delivered,
        "wanted": len(expected) * subscribers,
        "lagged": lagged,
        "errors": [s["error"] for s in subs if s["error"]],
        "p50": _percentile(latencies, 50) if latencies else float("nan"),
        "p99": _percentile(latencies, 99) if latencies else float("nan"),
        "max": latencies[-1] if latencies else float("nan"),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "first_p50": _percentile(first, 50) if first else float("nan"),
        "last_p50": _percentile(last, 50) if last else float("nan"),
        "last_p99": _percentile(last, 99) if last else float("nan"),
        "turn": finished - posted,
        "drain": last_arrival - posted,
        "cpu_server": cpu_server,
        "cpu_subscribers": result["cpu"],
    }


def _readline(child: subprocess.Popen[str], timeout: float) -> str:
    """One line of the child's stdout, or "" after `timeout` seconds (the child is then killed)."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(child.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not box:
        child.kill()
        reader.join(5)
    return box[0] if box else ""


def _report(name: str, explain: str, r: dict[str, Any], subscribers: int) -> None:
    ok = "" if r["complete"] == subscribers and r["lagged"] == 0 else "  ** LOSS **"
    print(
        f"server fan-out ({name}): {subscribers} subscribers x {r['events']} events: "
        f"delivered {r['delivered']}/{r['wanted']}, p50 {r['p50'] * 1000:.1f} ms, p99 {r['p99'] * 1000:.1f} ms, "
        f"max {r['max'] * 1000:.0f} ms{ok}"
    )
    top = ", ".join(f"{k} {v}" for k, v in r["types"].most_common(5))
    print(f"  {explain}; events: {top}")
    print(
        f"  per event: first subscriber to have it p50 {r['first_p50'] * 1000:.1f} ms, "
        f"last one p50 {r['last_p50'] * 1000:.1f} ms, p99 {r['last_p99'] * 1000:.1f} ms"
    )
    print(
        f"  {r['complete']}/{subscribers} subscribers got every seq in order, {r['lagged']} lagged; "
        f"turn {r['turn']:.2f} s, last frame delivered {r['drain']:.2f} s after the post; "
        f"CPU: server {r['cpu_server']:.1f} s, subscribers {r['cpu_subscribers']:.1f} s"
    )
    for error in r["errors"][:3]:
        print(f"  error: {error}")


def main(subscribers: int = SUBSCRIBERS, quick: bool = False) -> dict[str, dict[str, Any]]:
    import httpx
    from _server import serve

    from kode.testing.fake_provider import FakeProvider

    global STREAM_CHUNKS
    if quick:
        STREAM_CHUNKS = 300
    figures: dict[str, dict[str, Any]] = {}
    print(f"  (load average at start: {os.getloadavg()[0]:.2f}; this machine has {os.cpu_count()} CPUs)")
    with FakeProvider(responder=_responder) as fp, serve(fp.openai_base) as server:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=30.0) as http:
            session_id = http.post("/v1/sessions", json={}).json()["id"]
            # The first turn waits for litellm's import (warmed in the background); keep it out.
            http.post(
                f"/v1/sessions/{session_id}/messages", json={"text": "warm up"}, timeout=TIMEOUT
            ).raise_for_status()
            burst = run_turn(server, http, session_id, "burst: read the files", subscribers)
            _report(
                "burst",
                f"{BURST_ROUNDS} model calls x {BURST_CALLS} parallel read_file + answer, as fast as it runs",
                burst,
                subscribers,
            )
            stream = run_turn(server, http, session_id, "stream: write a lot", subscribers)
            _report(
                "streamed",
                f"one reply of {STREAM_CHUNKS} chunks {STREAM_DELAY * 1000:.0f} ms apart (one text_delta each)",
                stream,
                subscribers,
            )
            figures = {"burst": burst, "streamed": stream}
        print(f"  server peak RSS (VmHWM of the kode serve process): {server.rss_mb('VmHWM'):.0f} MB")
    return figures


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--subscribers":
        subscriber_process(sys.argv[2:])
    else:
        main(quick="--quick" in sys.argv)
