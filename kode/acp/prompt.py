"""An ACP prompt (content blocks) as the one user message kode takes.

Mentions become paths the model can read with its tools (`@src/app.py`); context the editor
embeds (a file's text, a selection) is inlined, tagged with where it came from, because it may
differ from the disk (an unsaved buffer). kode's models take text only, so the agent does not
advertise images or audio; a client that sends them anyway gets a note in their place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlparse

from acp.schema import (
    BlobResourceContents,
    EmbeddedResourceContentBlock,
    ResourceContentBlock,
    TextContentBlock,
    TextResourceContents,
)


def display_path(uri: str, cwd: str) -> str:
    """A `file://` URI as a workspace-relative path when it is inside the workspace; a fragment
    (editors mark a selection's lines with one: `#L10-20`) is kept."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return uri
    path = unquote(parsed.path)
    relative = os.path.relpath(path, cwd)
    shown = path if relative.startswith("..") else relative
    return f"{shown}#{parsed.fragment}" if parsed.fragment else shown


def prompt_text(blocks: Sequence[Any], cwd: str) -> str:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, TextContentBlock):
            parts.append(block.text)
        elif isinstance(block, ResourceContentBlock):
            parts.append(f"@{display_path(block.uri, cwd)}")
        elif isinstance(block, EmbeddedResourceContentBlock):
            parts.append(_embedded(block.resource, cwd))
        else:
            parts.append(f"[{getattr(block, 'type', 'content')} omitted: kode takes text only]")
    return "".join(_spaced(parts))


def _spaced(parts: list[str]) -> list[str]:
    """Adjacent blocks are separate words: `look at` + `@a.py` is `look at @a.py`."""
    out: list[str] = []
    for part in parts:
        if out and not out[-1].endswith((" ", "\n")) and not part.startswith((" ", "\n")):
            out.append(" ")
        out.append(part)
    return out


def _embedded(resource: TextResourceContents | BlobResourceContents, cwd: str) -> str:
    where = display_path(resource.uri, cwd)
    if isinstance(resource, TextResourceContents):
        text = resource.text if resource.text.endswith("\n") else resource.text + "\n"
        return f'\n<context ref="{where}">\n{text}</context>\n'
    return f"[binary resource {where} omitted: kode takes text only]"
