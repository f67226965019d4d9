"""Helpers shared by the tool tests: they live beside the Environment contract, which the local
and SSH tests share (kode/testing/contract_support.py)."""

from kode.testing.contract_support import (
    SPAWNER,
    Call,
    assert_all_dead,
    live_group_members,
    process_alive,
    run_tool,
    spawned_pids,
    wait_for,
    write,
)

__all__ = [
    "SPAWNER",
    "Call",
    "assert_all_dead",
    "live_group_members",
    "process_alive",
    "run_tool",
    "spawned_pids",
    "wait_for",
    "write",
]
