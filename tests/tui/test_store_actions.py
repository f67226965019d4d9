"""The TUI's store-backed session actions list this project's sessions and open clients."""

from __future__ import annotations

from pathlib import Path

from kode.cli.tui_actions import StoreActions
from kode.client.threaded import ThreadedClient
from kode.store import Store


async def test_list_sessions_is_this_projects_newest_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    project, other = tmp_path / "project", tmp_path / "other"
    async with await Store.open(url) as store:
        await store.create_session(id="ses_old", cwd=str(project), model="m", title="first")
        await store.create_session(id="ses_elsewhere", cwd=str(other), model="m", title="not here")
        await store.create_session(id="ses_new", cwd=str(project), model="m", title="second")
    opened: list[str | None] = []

    def opener(session_id: str | None):
        opened.append(session_id)

        async def open_client() -> None:
            return None

        return open_client

    actions = StoreActions(opener, project, url)
    summaries = await actions.list_sessions()
    assert [(s.session_id, s.title) for s in summaries] == [("ses_new", "second"), ("ses_old", "first")]
    assert isinstance(await actions.resume("ses_old"), ThreadedClient)
    assert isinstance(await actions.new_session(), ThreadedClient)
    assert opened == ["ses_old", None]
