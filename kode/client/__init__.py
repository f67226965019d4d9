"""Clients of a session: the SessionClient interface and its implementations."""

from kode.client.base import SessionClient

__all__ = ["SessionClient"]
