"""kode as an Agent Client Protocol agent: editors (Zed, JetBrains, Toad…) drive kode over stdio.

The ACP side is a front-end like the TUI: it creates and loads sessions through a `SessionHub`,
submits ops through a SessionClient and turns the events it reads back into ACP session updates
(`updates`). Nothing here knows about litellm, tools or the store beyond what the hub offers.
See docs/acp.md.
"""

from kode.acp.agent import KodeAgent
from kode.acp.sessions import HubFactory, SetupError

__all__ = ["HubFactory", "KodeAgent", "SetupError"]
