"""Documented exit codes (docs/cli.md). Scripts rely on these; change them never."""

OK = 0
AGENT_ERROR = 1
"""The agent or the provider failed: a classified error, max turns reached."""
USAGE = 2
"""Bad flags or arguments, no prompt, a broken config file, no API key."""
INTERRUPTED = 130
"""Ctrl-C (SIGINT) or SIGTERM: the turn was cancelled and recorded as such."""
