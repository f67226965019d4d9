"""`kode --plain`: a line-mode REPL over a SessionClient, for dumb terminals, screen readers and logs.

Imports only the protocol, the client interface and config (plus prompt_toolkit); the session
itself is opened by `kode.cli.plain_cmd`.
"""

from kode.repl.completion import ReplCompleter, workspace_files
from kode.repl.inputs import LineSource, PromptToolkitSource, StreamSource, history_file, open_history
from kode.repl.loop import PlainRepl, parse_answer
from kode.repl.printer import EventPrinter

__all__ = [
    "EventPrinter",
    "LineSource",
    "PlainRepl",
    "PromptToolkitSource",
    "ReplCompleter",
    "StreamSource",
    "history_file",
    "open_history",
    "parse_answer",
    "workspace_files",
]
