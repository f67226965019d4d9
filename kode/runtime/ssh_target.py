"""Where an SSH workspace (or an attached session) lives: `ssh://[user@]host[:port][/path]`, and
connecting to it the way OpenSSH would.

`connect_ssh` uses what the user already set up for `ssh`: keys in ~/.ssh, the ssh-agent,
~/.ssh/config and ~/.ssh/known_hosts. Host keys are always checked (asyncssh's `known_hosts=None`,
which trusts anything, is never passed): a host that is unknown or whose key changed is refused
with its SHA256 fingerprint and the command that trusts it after the user has verified it.

asyncssh is imported inside the functions that need it, so parsing a URL, and kode's startup,
never pay for loading it.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    import asyncssh

DEFAULT_PORT = 22
KNOWN_HOSTS = "~/.ssh/known_hosts"


class SshError(Exception):
    """Connecting to (or talking to) an SSH host failed; the message is one line that says why
    and what to do."""


@dataclass(frozen=True, slots=True)
class SshTarget:
    host: str
    port: int = DEFAULT_PORT
    user: str | None = None
    """None: the `User` of ~/.ssh/config for this host, else the local user name (as `ssh` does)."""
    path: str | None = None
    """Remote directory; None means the remote home directory. `~/x` is relative to the home."""

    @classmethod
    def parse(cls, url: str) -> SshTarget:
        """Parse `ssh://[user@]host[:port][/path]`. `ssh://host/srv/app` names /srv/app and
        `ssh://host/~/app` the directory app in the remote home."""
        return parse_ssh_url(url)

    @property
    def authority(self) -> str:
        """`user@host:port` as the user would recognise it in messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{user}{host}:{self.port}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port != DEFAULT_PORT else ""
        path = "" if self.path is None else (self.path if self.path.startswith("/") else "/" + self.path)
        return f"ssh://{user}{host}{port}{path}"


def parse_ssh_url(url: str) -> SshTarget:
    """See `SshTarget.parse`. Raises ValueError with a message naming the problem."""
    example = "expected ssh://[user@]host[:port][/path], e.g. ssh://dev@build.example.com:2222/srv/app"
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"Empty SSH URL; {example}")
    url = url.strip()
    if "://" not in url:
        raise ValueError(f"{url!r} is not an SSH URL; {example}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"Invalid SSH URL {url!r} ({exc}); {example}") from None
    if parts.scheme.lower() != "ssh":
        raise ValueError(f"Unsupported scheme {parts.scheme + '://'!r} in {url!r}; {example}")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError(f"SSH URL {url!r} must not have a query or fragment; {example}")
    if parts.password is not None:
        raise ValueError(
            f"SSH URL {url!r} contains a password; passwords are not accepted in URLs, use a key or ssh-agent"
        )
    host = parts.hostname
    if not host:
        raise ValueError(f"SSH URL {url!r} has no host; {example}")
    if any(ch.isspace() for ch in host) or host.startswith("-"):
        raise ValueError(f"Invalid host {host!r} in SSH URL {url!r}")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"Port {port} in SSH URL {url!r} is out of range (1-65535)")
    user = unquote(parts.username) if parts.username else None
    if user is not None and (not user or user.startswith("-") or any(ch.isspace() for ch in user)):
        raise ValueError(f"Invalid user name {user!r} in SSH URL {url!r}")
    path: str | None = unquote(parts.path) if parts.path else None
    if path is not None:
        if "\x00" in path:
            raise ValueError(f"SSH URL {url!r} has a NUL byte in its path")
        if path.startswith("/~"):
            path = path[1:]  # ssh://host/~/app: relative to the remote home
        if path in ("~", "~/"):
            path = None
    return SshTarget(host=host, port=port or DEFAULT_PORT, user=user, path=path)


async def connect_ssh(
    target: SshTarget,
    *,
    known_hosts: str | None = None,
    client_keys: list[str] | None = None,
    agent_path: str | None = None,
    connect_timeout: float = 15,
    **options: Any,
) -> asyncssh.SSHClientConnection:
    """Open an authenticated, host-key-checked SSH connection to `target`.

    `known_hosts`: a known_hosts file (default: ~/.ssh/known_hosts and whatever ~/.ssh/config
    names). `client_keys`: private key files to offer (default: the usual ~/.ssh/id_* and
    IdentityFile). `agent_path`: the ssh-agent socket (default: $SSH_AUTH_SOCK; "" for none).
    Further keyword arguments go to `asyncssh.connect`. Every failure is an `SshError`.
    """
    import asyncssh

    capture = _HostKeyCapture()
    kwargs: dict[str, Any] = {
        "port": target.port,
        "known_hosts": known_hosts if known_hosts is not None else (),
        "connect_timeout": connect_timeout,
        "client_factory": capture.factory(),
        **options,
    }
    if target.user:
        kwargs["username"] = target.user
    if client_keys is not None:
        kwargs["client_keys"] = list(client_keys)
    if agent_path is not None:
        kwargs["agent_path"] = agent_path or None
    where = target.authority
    try:
        return await asyncssh.connect(target.host, **kwargs)
    except asyncssh.HostKeyNotVerifiable as exc:
        raise SshError(_host_key_message(target, capture.key, known_hosts, str(exc))) from None
    except asyncssh.PermissionDenied:
        raise SshError(
            f"SSH authentication failed for {where}: the server refused every key offered; add your public key to "
            "the remote ~/.ssh/authorized_keys, or load the right key with `ssh-add` (check with "
            f"`ssh -p {target.port} {_login(target)} true`)"
        ) from None
    except (asyncio.TimeoutError, TimeoutError):
        raise SshError(
            f"Timed out after {connect_timeout:g}s connecting to {where}: check the host is up and reachable and "
            "the port is right (a firewall may be dropping packets)"
        ) from None
    except socket.gaierror as exc:
        raise SshError(
            f"Cannot resolve SSH host {target.host!r} ({exc.strerror}): check the name, or its HostName in "
            "~/.ssh/config"
        ) from None
    except ConnectionRefusedError:
        raise SshError(
            f"Connection refused by {where}: is sshd running there and listening on port {target.port}?"
        ) from None
    except asyncssh.KeyExchangeFailed as exc:
        raise SshError(
            f"SSH key exchange with {where} failed ({_one_line(exc)}): the host offers no key type or cipher "
            "kode accepts, or its host key type changed; compare with `ssh -v`"
        ) from None
    except asyncssh.Error as exc:
        raise SshError(f"SSH connection to {where} failed: {_one_line(exc)}") from None
    except OSError as exc:
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            raise SshError(f"Cannot reach {where} ({exc.strerror}): check the network and the host name") from None
        raise SshError(f"Cannot connect to {where}: {exc.strerror or exc}") from None


class _HostKeyCapture:
    """Remembers the host key the server presented, so a refusal can show its fingerprint.
    asyncssh asks the client object only about keys known_hosts did not already trust."""

    def __init__(self) -> None:
        self.key: asyncssh.SSHKey | None = None

    def factory(self) -> Any:
        import asyncssh

        capture = self

        class _Client(asyncssh.SSHClient):
            def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
                capture.key = key
                return False

        return _Client


def _host_key_message(target: SshTarget, key: asyncssh.SSHKey | None, known_hosts: str | None, detail: str) -> str:
    where = target.authority
    fingerprint = key.get_fingerprint("sha256") if key is not None else "unknown fingerprint"
    algorithm = key.get_algorithm() if key is not None else "host"
    file = known_hosts or KNOWN_HOSTS
    if "revoked" in detail.lower():
        return f"The {algorithm} key of {where} ({fingerprint}) is revoked in {file}; refusing to connect"
    if _has_known_key(target, known_hosts):
        return (
            f"The host key of {where} has CHANGED (now {algorithm} {fingerprint}); this may be an attack. If the "
            f"change is expected, remove the old entry with `ssh-keygen -R {_known_hosts_name(target)} -f {file}` "
            f"and trust the new key after verifying its fingerprint"
        )
    return (
        f"Unknown SSH host {where}: its {algorithm} key fingerprint is {fingerprint}; verify it, then run "
        f"`ssh-keyscan -p {target.port} {target.host} >> {file}` (or connect once with "
        f"`ssh -p {target.port} {_login(target)}`)"
    )


def _has_known_key(target: SshTarget, known_hosts: str | None) -> bool:
    """Whether the known_hosts file already names this host (so a refusal means the key changed)."""
    import asyncssh

    try:
        hosts = asyncssh.read_known_hosts(os.path.expanduser(known_hosts or KNOWN_HOSTS))
    except (OSError, ValueError, asyncssh.Error):
        return False
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)}
    except OSError:
        addresses = set()
    for addr in addresses or {""}:
        trusted_keys, trusted_cas, *_ = hosts.match(target.host, addr, target.port)
        if trusted_keys or trusted_cas:
            return True
    return False


def _known_hosts_name(target: SshTarget) -> str:
    return target.host if target.port == DEFAULT_PORT else f"'[{target.host}]:{target.port}'"


def _login(target: SshTarget) -> str:
    return f"{target.user}@{target.host}" if target.user else target.host


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
