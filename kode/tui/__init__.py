"""kode's terminal UI (Textual). It talks to a session only through a SessionClient.

    from kode.tui import KodeApp, AppOptions
    KodeApp(client, options=AppOptions.standard(cwd)).run()
"""

from kode.tui.actions import (
    FactoryActions,
    NotSupported,
    SessionActions,
    SessionSummary,
)
from kode.tui.app import KodeApp
from kode.tui.options import AppOptions

__all__ = ["AppOptions", "FactoryActions", "KodeApp", "NotSupported", "SessionActions", "SessionSummary"]
