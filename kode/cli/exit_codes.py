"""Documented exit codes (docs/cli.md). Scripts rely on these; change them never."""

OK = 0
AGENT_ERROR = 1
"""The agent or the provider failed: a classified error, max turns reached."""
USAGE = 2
"""Bad flags or arguments, no prompt, a broken config file, no API key."""
INTERRUPTED = 130
"""Ctrl-C (SIGINT) or SIGTERM: the turn was cancelled and recorded as such."""


def for_open_error(exc: BaseException) -> int:
    """A session that could not be opened: USAGE for the caller's mistake, else AGENT_ERROR."""
    return USAGE if getattr(exc, "usage", False) else AGENT_ERROR
