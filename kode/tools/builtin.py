"""The tools every agent gets unless configured otherwise."""

from __future__ import annotations

from typing import Any

from kode.tools.base import Tool
from kode.tools.files import EditFile, ReadFile, WriteFile
from kode.tools.grep import Grep
from kode.tools.listing import Glob, ListDir
from kode.tools.shell import Bash
from kode.tools.symbols import symbol_tools
from kode.tools.todo import Todo


def builtin_tools() -> list[Tool[Any]]:
    """Fresh instances of the built-in tools, in the order the model sees them."""
    return [ReadFile(), WriteFile(), EditFile(), ListDir(), Glob(), Grep(), Bash(), Todo(), *symbol_tools()]
