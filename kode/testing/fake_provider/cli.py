"""Command line: run the fake provider as a standalone process.

Prints exactly one line, the base URL, to stdout once the socket is listening, so a parent
process (a benchmark, a shell script, someone's automation) can read it and point a client at
it; then serves until SIGTERM or SIGINT. Diagnostics go to stderr only.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .model import load_script
from .server import FakeProvider


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kode.testing.fake_provider",
        description="Scripted fake OpenAI/Anthropic server for tests. "
                    "OpenAI api_base: URL/v1; Anthropic api_base: URL.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: pick a free one)")
    parser.add_argument("--script", metavar="FILE.json",
                        help="JSON list of replies (Reply fields; faults as {\"kind\": ...})")
    parser.add_argument("--echo", action="store_true",
                        help="once the script is used up, echo the last user message instead of 'ok'")
    parser.add_argument("--verbose", "-v", action="store_true", help="log each request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        replies = load_script(args.script) if args.script else []
    except (OSError, ValueError) as exc:
        print(f"fake provider: cannot load script: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    provider = FakeProvider(args.host, args.port, replies=replies, echo=args.echo, verbose=args.verbose)
    with provider:
        print(provider.base_url, flush=True)
        print(f"fake provider: openai api_base {provider.openai_base}, anthropic api_base "
              f"{provider.anthropic_base}, {len(replies)} scripted repl(ies)", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    return 0
