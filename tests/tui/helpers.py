"""Helpers shared by the TUI tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kode.client.inprocess import InProcessClient
from kode.core.session import Session
from kode.testing.scripted_model import ScriptedModel
from kode.tui import AppOptions, KodeApp

SIZE = (100, 32)


@dataclass
class Rig:
    session: Session
    model: ScriptedModel
    client: InProcessClient
    workspace: Path


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until `condition()` holds (or fail after `timeout` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the UI")
        await pilot.pause(0.02)
    await pilot.pause()


def app_for(rig: Rig, options: AppOptions) -> KodeApp:
    return KodeApp(rig.client, options=options)
