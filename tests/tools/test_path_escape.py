"""The escape corpus (kode/testing/environment_contract.py: EscapeContract) against
LocalEnvironment: every attempt to reach outside the workspace, through every file tool and the
Environment itself, fails clearly, reveals nothing and changes nothing."""

from kode.testing.escape_contract import EscapeContract


class TestLocalEscapes(EscapeContract):
    pass
