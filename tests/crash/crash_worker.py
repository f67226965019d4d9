"""A process running one stored turn, printing every event a client sees, to be killed with -9.

    python crash_worker.py WORKSPACE [SESSION_ID]

Uses the same pieces as `kode ask` (Session, real tools, StoredSession, the SQLite store under
$KODE_DATA_DIR) with a scripted model instead of a provider, so it starts in well under a second.
The turn streams text, runs a shell command that takes a while, writes a file and streams more.
"""

from __future__ import annotations

import asyncio
import sys

from kode.core.permissions import PermissionMode
from kode.core.stored_session import StoredSession
from kode.protocol.codec import dump_event
from kode.protocol.ops import SubmitMessage
from kode.store import Store
from kode.testing.scripted_model import ScriptedModel, Step
from kode.testing.scripted_session import scripted_session


def script(round_: int) -> list[Step]:
    return [
        Step("Let me look at the workspace first. " * 4, delay=0.01, chunks=12,
             tool_calls=[("bash", {"command": "sleep 0.3; echo listed"})]),
        Step("Now writing the file.", delay=0.01, chunks=4,
             tool_calls=[("write_file", {"path": f"out{round_}.txt", "content": "x\n" * 50})]),
        Step("All done, the file is written and checked. " * 3, delay=0.01, chunks=10),
    ]


async def main(workspace: str, resume: str | None) -> None:
    store = await Store.open()
    history = await store.load_events(resume) if resume else None
    model = ScriptedModel(*script(len(history or [])))
    session = scripted_session(
        workspace, model, mode=PermissionMode.BYPASS, max_turns=10, model_name="scripted/crash",
        session_id=resume, history=history,
    )
    stored = await StoredSession.begin(store, session, owner="crash worker", new=resume is None)
    print(f"session {session.id}", flush=True)
    stream = session.events(session.log.last_seq if resume else 0)
    await session.submit(SubmitMessage(text="do the work"))
    async for event in stream:
        sys.stdout.write(dump_event(event) + "\n")
        sys.stdout.flush()
        if event.type == "turn_finished" and event.agent_id == "root":
            break
    await stored.close()
    await store.close()
    print("clean exit", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
