"""`kode sessions …`: list, show, export, delete, rename and fork stored sessions."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from kode.cli import exit_codes

sessions_app = typer.Typer(help="List, show, export, delete, rename and fork stored sessions.", no_args_is_help=True)
T = TypeVar("T")


def _with_store(action: Callable[[Any], Awaitable[T]]) -> T:
    """Run `action(store)`; store errors become one line on stderr and exit code 2."""
    from kode.store import Store, StoreError

    async def main() -> T:
        from kode.config import ConfigError, load_config

        try:
            url = load_config(Path.cwd()).settings.store.url or None
        except ConfigError as exc:
            sys.stderr.write(f"kode: config error: {exc}\n")
            raise typer.Exit(exit_codes.USAGE) from None
        store = await Store.open(url)
        try:
            for warning in store.warnings:
                sys.stderr.write(f"kode: warning: {warning}\n")
            return await action(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except StoreError as exc:
        sys.stderr.write(f"kode: {exc}\n")
        raise typer.Exit(exit_codes.USAGE) from None


def _record_dict(record: Any) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    for key in ("created_at", "updated_at"):
        data[key] = data[key].isoformat()
    return data


def _when(record: Any) -> str:
    return record.updated_at.strftime("%Y-%m-%d %H:%M")


@sessions_app.command("list")
def list_sessions(
    all_dirs: Annotated[bool, typer.Option("--all", "-a", help="Sessions of every directory, not just this one.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most N sessions, newest first.")] = 50,
) -> None:
    """Sessions in this directory (newest first)."""
    cwd = None if all_dirs else str(Path.cwd().resolve())
    records = _with_store(lambda store: store.list_sessions(cwd=cwd, limit=limit))
    if as_json:
        typer.echo(json.dumps([_record_dict(r) for r in records], indent=2))
        return
    if not records:
        typer.echo("No sessions" + ("" if all_dirs else " in this directory (try --all)") + ".")
        return
    for r in records:
        where = f"  {r.cwd}" if all_dirs else ""
        typer.echo(f"{r.id}  {_when(r)}  {r.status:<11} ${r.cost_usd:<8.4f} {r.title or '(untitled)'}{where}")


@sessions_app.command("show")
def show(session: Annotated[str, typer.Argument(metavar="ID", help="Session id or a unique prefix.")]) -> None:
    """A session's details and totals."""
    record = _with_store(lambda store: store.get_session(session))
    for key, value in _record_dict(record).items():
        typer.echo(f"{key:<18} {value}")


@sessions_app.command("export")
def export(
    session: Annotated[str, typer.Argument(metavar="ID", help="Session id or a unique prefix.")],
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="markdown|json", help="Output format.")] = "markdown",
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.")] = None,
) -> None:
    """The whole conversation as Markdown or JSON."""
    from kode.render.export import to_json, to_markdown

    if fmt not in ("markdown", "json"):
        sys.stderr.write(f"kode: --format must be markdown or json (got {fmt!r})\n")
        raise typer.Exit(exit_codes.USAGE)

    async def load(store: Any) -> tuple[Any, list[Any]]:
        record = await store.get_session(session)
        return record, await store.load_events(record.id)

    record, events = _with_store(load)
    text = to_markdown(record.title, record.id, events) if fmt == "markdown" else to_json(_record_dict(record), events)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        typer.echo(f"Wrote {output}", err=True)


@sessions_app.command("delete")
def delete(session: Annotated[str, typer.Argument(metavar="ID", help="Session id or a unique prefix.")]) -> None:
    """Delete a session and its events."""

    async def run(store: Any) -> str:
        record = await store.get_session(session)
        await store.delete_session(record.id)
        return record.id

    typer.echo(f"Deleted {_with_store(run)}.")


@sessions_app.command("rename")
def rename(
    session: Annotated[str, typer.Argument(metavar="ID", help="Session id or a unique prefix.")],
    title: Annotated[str, typer.Argument(metavar="TITLE", help="The new title.")],
) -> None:
    """Give a session a title."""

    async def run(store: Any) -> str:
        record = await store.get_session(session)
        await store.update_session(record.id, title=title)
        return record.id

    typer.echo(f"Renamed {_with_store(run)}.")


@sessions_app.command("fork")
def fork(
    session: Annotated[str, typer.Argument(metavar="ID", help="Session id or a unique prefix.")],
    at: Annotated[int | None, typer.Option("--at", metavar="SEQ", help="Copy events up to this seq (default: all).")] = None,
) -> None:
    """Copy a session (up to an event) into a new one you can continue with --resume."""
    from kode.protocol.common import new_id

    async def run(store: Any) -> str:
        record = await store.get_session(session)
        forked = await store.fork_session(record.id, at_seq=at, new_id=new_id("ses"))
        return forked.id

    typer.echo(_with_store(run))
