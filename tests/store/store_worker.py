"""A second kode process for the store tests: `python store_worker.py COMMAND URL SESSION [N]`.

hold    take the session's lease, print "ready", hold it until stdin closes, release, exit
append  create the session, append N events one transaction each, print "done"
"""

from __future__ import annotations

import asyncio
import sys

from sample_events import user_message

from kode.store import Store


async def hold(url: str, session_id: str) -> None:
    store = await Store.open(url)
    lease = await store.acquire(session_id, "store_worker hold")
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await lease.release()
    await store.close()


async def append(url: str, session_id: str, count: int) -> None:
    store = await Store.open(url)
    await store.create_session(id=session_id, cwd="/w", model="m")
    print("ready", flush=True)
    for seq in range(1, count + 1):
        await store.append_events(session_id, [user_message(session_id, seq, f"event {seq} of {session_id}")])
    await store.close()
    print("done", flush=True)


def main() -> None:
    command, url, session_id, *rest = sys.argv[1:]
    if command == "hold":
        asyncio.run(hold(url, session_id))
    elif command == "append":
        asyncio.run(append(url, session_id, int(rest[0])))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
