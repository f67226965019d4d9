"""The escape corpus (kode/testing/environment_contract.py: EscapeContract) against
SshEnvironment over a real sshd. Confinement is computed on the remote file system, so every
attempt must fail as it does locally: clearly, revealing nothing of what lies outside, and
changing nothing there."""

import pytest

from kode.testing.escape_contract import EscapeContract

pytestmark = pytest.mark.asyncio(loop_scope="module")


class TestSshEscapes(EscapeContract):
    pass
