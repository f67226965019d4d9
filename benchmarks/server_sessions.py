"""Server under load: 50 sessions each running a scripted tool-loop turn, all posted at once.

`kode serve --port 0` runs as a subprocess (127.0.0.1, isolated HOME/config/data, store on,
default permission mode: the tools used are read-only, so no approval ever waits). This process
runs the fake provider (a responder keyed by the request's messages, so 50 interleaved sessions
each get their own script) and the driver: 50 `POST /v1/sessions/{id}/messages` at once over
httpx, each answering when its turn ends.

Each turn is 5 model calls and 5 tools: list src, grep TODO, read_file x2 (in parallel),
read_file README.md, answer.
After a session's first exchange the server also asks the model for a title, in the background:
those calls are counted apart. Printed: turns/s and model calls/s over the wall time from the
first post to the last answer, turn latency, the server's CPU time, and the server's peak RSS:
VmHWM from /proc/PID/status of the `kode serve` process, reset (clear_refs) after a warm-up turn
so it is the peak of the run itself; the absolute peak since start is shown beside it.

    python benchmarks/server_sessions.py [--sessions N]
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

SESSIONS = 50
TIMEOUT = 120.0
TURN_CALLS = 5
FINAL = "Checked: 40 TODOs, nothing urgent."


def _responder(request: Any) -> Any:
    from kode.testing.fake_provider import Reply, ToolCall

    messages = request.messages
    system = messages[0].get("content") if messages else ""
    if isinstance(system, str) and system.startswith("Write a title"):
        return Reply(text="Review the TODO notes", usage=(60, 5))
    prompt = request.last_user_text
    n = int(prompt.split()[1].rstrip(":")) if prompt.startswith("task ") else 0
    last_user = max(i for i, m in enumerate(messages) if m.get("role") == "user")
    step = sum(1 for m in messages[last_user:] if m.get("role") == "assistant")
    usage = (1200 + 300 * step, 40)
    if step == 0:
        return Reply(text="Let me look around.", tool_calls=[ToolCall("list", {"path": "src"})], usage=usage)
    if step == 1:
        return Reply(
            text="Searching.",
            tool_calls=[ToolCall("grep", {"pattern": "TODO", "path": "src", "max_results": 20})],
            usage=usage,
        )
    if step == 2:
        calls = [ToolCall("read_file", {"path": f"src/module_{(n + k) % 20}.py", "limit": 30}) for k in range(2)]
        return Reply(text="Reading two of them.", tool_calls=calls, usage=usage)
    if step == 3:
        return Reply(text="And the README.", tool_calls=[ToolCall("read_file", {"path": "README.md"})], usage=usage)
    return Reply(text=FINAL, usage=usage)


async def _create_sessions(url: str, headers: dict[str, str], sessions: int) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=sessions + 8, max_keepalive_connections=sessions + 8)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=httpx.Timeout(TIMEOUT)) as http:
        created = time.perf_counter()
        ids = []
        for _ in range(sessions):  # one by one: creating is not what is measured
            response = await http.post("/v1/sessions", json={})
            response.raise_for_status()
            ids.append(response.json()["id"])
        create_time = time.perf_counter() - created
        return {"ids": ids, "create": create_time}


async def _post_all(url: str, headers: dict[str, str], ids: list[str]) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=len(ids) + 8, max_keepalive_connections=len(ids) + 8)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=httpx.Timeout(TIMEOUT)) as http:
        gate = asyncio.Event()

        async def turn(n: int, session_id: str) -> tuple[float, dict[str, Any]]:
            await gate.wait()
            started = time.perf_counter()
            response = await http.post(
                f"/v1/sessions/{session_id}/messages", json={"text": f"task {n}: review the TODOs"}
            )
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            if response.status_code != 200:
                body = {"status": f"HTTP {response.status_code}", "error": body.get("error")}
            return time.perf_counter() - started, body

        tasks = [asyncio.create_task(turn(n, sid)) for n, sid in enumerate(ids)]
        await asyncio.sleep(0)
        started = time.perf_counter()
        gate.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), TIMEOUT)
        wall = time.perf_counter() - started
    return {"results": results, "wall": wall}


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: "5" > /proc/PID/clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def main(sessions: int = SESSIONS) -> dict[str, float]:
    import httpx
    from _server import serve

    from kode.testing.fake_provider import FakeProvider

    print(f"  (load average at start: {os.getloadavg()[0]:.2f}; this machine has {os.cpu_count()} CPUs)")
    settings = {"KODE_SERVER__MAX_SESSIONS": str(max(64, sessions + 8))}
    with FakeProvider(responder=_responder) as fp, serve(fp.openai_base, settings=settings) as server:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=TIMEOUT) as http:
            # Warm-up: the first turn waits for litellm's import (done in the background at start).
            warm = http.post("/v1/sessions", json={}).json()["id"]
            http.post(f"/v1/sessions/{warm}/messages", json={"text": "task 0: warm up"}).raise_for_status()
            lone_id = http.post("/v1/sessions", json={}).json()["id"]
            started = time.perf_counter()
            lone = http.post(f"/v1/sessions/{lone_id}/messages", json={"text": "task 1: review the TODOs"})
            lone_time = time.perf_counter() - started
            if lone.json().get("result") != FINAL:
                raise RuntimeError(f"the scripted turn did not complete: {lone.text[:300]}")
            time.sleep(0.5)  # let the background title calls finish
        rss_warm = server.rss_mb("VmRSS")
        created = asyncio.run(_create_sessions(server.url, server.headers, sessions))
        rss_idle = server.rss_mb("VmRSS")
        reset = _reset_peak(server.pid)
        requests_before = len(fp.requests)
        cpu_before = server.cpu_seconds()
        own_before = _own_cpu()
        run = asyncio.run(_post_all(server.url, server.headers, created["ids"]))
        cpu = server.cpu_seconds() - cpu_before
        own_cpu = _own_cpu() - own_before
        peak = server.rss_mb("VmHWM")
        requests_during = fp.requests[requests_before:]
        time.sleep(1.0)  # titles come after each turn, in the background; count those too
        requests = fp.requests[requests_before:]
        peak = max(peak, server.rss_mb("VmHWM"))
        peak_since_start = None if reset else peak
    titles = sum(1 for r in requests if str(r.messages[0].get("content", "")).startswith("Write a title"))
    turn_calls = len(requests) - titles
    titles_in_window = sum(
        1 for r in requests_during if str(r.messages[0].get("content", "")).startswith("Write a title")
    )
    ok, failures, latencies = 0, [], []
    for result in run["results"]:
        if isinstance(result, BaseException):
            failures.append(repr(result))
            continue
        latency, body = result
        latencies.append(latency)
        if body.get("status") == "completed" and body.get("result") == FINAL:
            ok += 1
        else:
            failures.append(f"{body.get('status')}: {body.get('error')}")
    wall = run["wall"]
    ordered = sorted(latencies)
    model_calls = len(requests_during)
    print(
        f"server sessions: {sessions} concurrent tool-loop turns ({TURN_CALLS} model calls, 5 tools each): "
        f"{ok}/{sessions} completed in {wall:.2f} s wall: {ok / wall:.1f} turns/s, "
        f"{model_calls / wall:.1f} model calls/s"
    )
    print(
        f"  model calls: {turn_calls} for the turns (want {sessions * TURN_CALLS}) + {titles} background titles "
        f"({titles_in_window} of them inside the wall time, counted in the rate above)"
    )
    if ordered:
        print(
            f"  turn latency: p50 {statistics.median(ordered):.2f} s, max {ordered[-1]:.2f} s "
            f"(one turn alone: {lone_time:.2f} s); creating the {sessions} sessions one by one took "
            f"{created['create']:.2f} s"
        )
        print(
            f"  CPU during the run: server {cpu:.1f} s ({cpu / wall * 100:.0f}% of one core), "
            f"this process (fake provider + driver) {own_cpu:.1f} s"
        )
    if reset:
        print(
            f"  server RSS (kode serve process, /proc/PID/status): {rss_idle:.0f} MB with {sessions + 2} idle sessions "
            f"after 2 warm-up turns (creating the {sessions} added {rss_idle - rss_warm:+.1f} MB), "
            f"peak during the run (VmHWM) {peak:.0f} MB"
        )
    else:
        print(f"  server peak RSS since start (VmHWM of the kode serve process): {peak_since_start:.0f} MB")
    for failure in failures[:5]:
        print(f"  failed: {failure}")
    return {"wall": wall, "turns_per_s": ok / wall, "calls_per_s": model_calls / wall, "peak_rss_mb": peak}


if __name__ == "__main__":
    count = SESSIONS
    if "--sessions" in sys.argv:
        count = int(sys.argv[sys.argv.index("--sessions") + 1])
    main(count)
