"""Running commands on the remote host for `SshEnvironment.run`, with local's guarantees.

Each command gets its own SSH exec channel. The login shell there only sees
`exec bash -c SCRIPT`; the script starts with a one-line prelude that:

- makes sure bash leads its own process group. OpenSSH already runs every session's command
  under `setsid`; on a server that does not, the prelude re-execs itself through `setsid` (same
  pid, so nothing is lost). Everything the command starts is then in that group;
- reports its pid on the channel's stderr stream as a control record (`\\x1ekode-pid:N\\0`), then
  sends its own stderr into stdout, so output is interleaved as it is locally, and keeps the
  channel's stderr as fd 19 for the other records (the final directory for `track_cwd`);
- prints a start marker on stdout: anything before it (a chatty ~/.bashrc) is dropped.

A timeout or a cancellation kills the group (see `ssh_kill`): nothing the command started
survives, as with `LocalEnvironment`. After a normal exit, background processes are left running
and reading stops once output has been quiet briefly, also as locally; but everything the command
wrote before exiting is delivered first, however slow `on_output` is (the channel is paused
meanwhile, so memory stays bounded).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal as signal_mod
import time
from shlex import quote
from typing import TYPE_CHECKING, Any

from kode.runtime.environment import EnvironmentError_, OutputCallback, RunResult
from kode.runtime.local import CHILD_ENV_OVERRIDES, OutputCap, OutputSink
from kode.runtime.ssh_kill import kill_group
from kode.runtime.ssh_paths import is_lost_connection, lost_connection_error

if TYPE_CHECKING:
    import asyncssh

CONTROL_FD = 19
_START = b"\x1ekode-start\x00"
_PREAMBLE_MAX = 64 * 1024
_PAUSE_AT = 1 << 20
_RESUME_AT = 256 * 1024
_DRAIN_IDLE = 0.25
"""After the command exits, stop reading once output has been quiet this long (a background
process it left running may hold the channel open forever)."""
_DRAIN_MAX = 2.0
_IN_FLIGHT_MAX = 4 << 20
"""Output that can be buffered between the command and us when it exits: the channel's receive
window (asyncssh: 2 MiB), sshd's buffers and the pipe, with room to spare."""

# Templates with @FD@, @CWD@, @ENV@ placeholders (shell braces make str.format awkward).
_PRELUDE = (
    '[ -z "$KODE_SETSID" ] && [ -r /proc/$$/stat ] && command -v setsid >/dev/null 2>&1 && '
    '{ read -r _kode_s < /proc/$$/stat; _kode_s=(${_kode_s##*") "}); [ "${_kode_s[2]}" = "$$" ] || '
    'KODE_SETSID=1 exec setsid "$BASH" -c "$BASH_EXECUTION_STRING" "$0" "$@"; }; unset KODE_SETSID _kode_s; '
    "printf '\\036kode-pid:%s\\000' \"$$\" >&2; exec @FD@>&2 2>&1; printf '\\036kode-start\\000'; "
    "cd -- @CWD@ 2>/dev/null || { printf '\\036kode-nocwd\\000' >&@FD@; exit 1; }; export @ENV@"
)
_TRACK_CWD = "trap 'printf \"\\036kode-cwd:%s\\000\" \"$(pwd -P)\" >&@FD@' EXIT"
_EXEC_ARGV = (
    'command -v -- "$1" >/dev/null 2>&1 || { if [ -e "$1" ]; then _r="Permission denied"; '
    'else _r="No such file or directory"; fi; printf \'\\036kode-nostart:%s\\000\' "$_r" >&@FD@; exit 127; }; '
    'exec -- "$@"'
)



def remote_command(command: str | list[str], workdir: str, *, track_cwd: bool, bash: str) -> str:
    """The exec request's command line: the prelude, then the command."""
    fd = str(CONTROL_FD)
    env = " ".join(f"{key}={quote(value)}" for key, value in CHILD_ENV_OVERRIDES.items())
    prelude = _PRELUDE.replace("@FD@", fd).replace("@ENV@", env).replace("@CWD@", quote(workdir))
    args: list[str] = []
    if isinstance(command, str):
        # The command starts on line 2, so a syntax error in it never quotes the prelude.
        trap = "; " + _TRACK_CWD.replace("@FD@", fd) if track_cwd else ""
        script = f"{prelude}{trap}\n{command}"
    else:
        script = f"{prelude}; {_EXEC_ARGV.replace('@FD@', fd)}"
        args = list(command)
    return " ".join(["exec", quote(bash), "-c", quote(script), quote(bash), *(quote(a) for a in args)])


class _Session:
    """The exec channel's session (asyncssh's SSHClientSession interface, duck-typed so this
    module does not import asyncssh): stdout chunks to a queue, stderr parsed for records."""

    def __init__(self) -> None:
        self.chan: Any = None
        self.queue: asyncio.Queue[tuple[bool, bytes] | None] = asyncio.Queue()
        self.queued = 0
        self.received = 0
        self.received_at_exit: int | None = None
        """Bytes received when the exit status came: all of it is the command's output."""
        self.last_data = time.monotonic()
        self.paused = False
        self.exit_code: int | None = None
        self.exited = asyncio.Event()
        self.lost: Exception | None = None
        self.pid: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.cwd: str | None = None
        self.nocwd = False
        self.nostart: str | None = None
        self.stderr_noise = bytearray()
        self._control = bytearray()

    # -- asyncssh callbacks --------------------------------------------------------------------

    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def session_started(self) -> None:
        pass

    def data_received(self, data: bytes, datatype: int | None) -> None:
        if datatype is None:
            self._enqueue(False, data)
        else:
            self._control += data
            self._parse_control()

    def eof_received(self) -> bool:
        self.queue.put_nowait(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.lost = exc
        self.queue.put_nowait(None)
        if not self.pid.done():
            self.pid.set_result(None)
        self.exited.set()

    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass

    def xon_xoff_requested(self, client_can_do: bool) -> None:
        pass

    def exit_status_received(self, status: int) -> None:
        self.exit_code = status
        self._exited()

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        number = getattr(signal_mod, f"SIG{signal}", None)
        self.exit_code = -int(number) if number is not None else -1
        self._exited()

    def _exited(self) -> None:
        if self.received_at_exit is None:
            self.received_at_exit = self.received
        self.exited.set()

    # -- plumbing ------------------------------------------------------------------------------

    def _enqueue(self, is_stderr: bool, data: bytes) -> None:
        self.queue.put_nowait((is_stderr, data))
        self.queued += len(data)
        self.received += len(data)
        self.last_data = time.monotonic()
        if self.queued > _PAUSE_AT and not self.paused and self.chan is not None:
            self.paused = True
            self.chan.pause_reading()  # the consumer (on_output) is slower than the command

    def consumed(self, size: int) -> None:
        self.queued -= size
        if self.paused and self.queued < _RESUME_AT:
            self.paused = False
            self.chan.resume_reading()

    def _parse_control(self) -> None:
        buf = self._control
        while buf:
            start = buf.find(b"\x1e")
            if start:
                self._noise(bytes(buf[: start if start > 0 else len(buf)]))
                del buf[: start if start > 0 else len(buf)]
                continue
            end = buf.find(b"\x00")
            if end < 0:
                if len(buf) > _PREAMBLE_MAX:
                    self._noise(bytes(buf))
                    buf.clear()
                return
            record = bytes(buf[1:end])
            del buf[: end + 1]
            self._record(record)

    def _record(self, record: bytes) -> None:
        name, _, value = record.partition(b":")
        if name == b"kode-pid" and value.isdigit() and not self.pid.done():
            self.pid.set_result(int(value))
            self.stderr_noise.clear()  # the command started: what came before was login noise
        elif name == b"kode-cwd":
            self.cwd = value.decode("utf-8", errors="surrogateescape") or None
        elif name == b"kode-nocwd":
            self.nocwd = True
        elif name == b"kode-nostart":
            self.nostart = value.decode("utf-8", errors="replace")
        else:
            self._noise(b"\x1e" + record + b"\x00")

    def _noise(self, data: bytes) -> None:
        if self.pid.done() and self.pid.result() is not None:
            self._enqueue(True, data)  # the command wrote to fd 19 itself: keep it
        else:
            self.stderr_noise += data
            del self.stderr_noise[:-_PREAMBLE_MAX]


class _ChannelPump:
    """Reads the session's queue, dropping the login preamble, into the sink (as
    `LocalEnvironment`'s pump does with its pipe)."""

    def __init__(self, session: _Session, cap: OutputCap, on_output: OutputCallback | None) -> None:
        self._session = session
        self._sink = OutputSink(cap, on_output)
        self._preamble: bytearray | None = bytearray()
        self.consumed = 0

    async def run(self) -> None:
        while True:
            item = await self._session.queue.get()
            if item is None:
                return
            is_stderr, chunk = item
            self._session.consumed(len(chunk))
            self.consumed += len(chunk)
            if not is_stderr and self._preamble is not None:
                self._preamble += chunk
                at = self._preamble.find(_START)
                if at < 0:
                    del self._preamble[: -max(_PREAMBLE_MAX, len(_START))]
                    continue
                chunk = bytes(self._preamble[at + len(_START) :])
                self._preamble = None
            await self._sink.feed(chunk)

    async def drain(self, read_task: asyncio.Task[None]) -> None:
        """Take everything received up to the exit (however slow `on_output` is), then let the
        reader reach end-of-file, giving up once the channel stays quiet (a background process
        holds it open) or after `_DRAIN_MAX` seconds, as local does with its pipe."""
        session = self._session
        at_exit = session.received_at_exit if session.received_at_exit is not None else session.received
        while not read_task.done() and self.consumed < at_exit:
            await asyncio.wait({read_task}, timeout=0.05)
        # What the command wrote just before it exited may still be in flight (the channel was
        # paused for a slow consumer): that much more is taken without a deadline too.
        while (
            not read_task.done()
            and not session.queue.empty()
            and session.received - at_exit < _IN_FLIGHT_MAX
        ):
            await asyncio.wait({read_task}, timeout=0.05)
        deadline = time.monotonic() + _DRAIN_MAX
        while not read_task.done():
            now = time.monotonic()
            quiet = session.queue.empty() and now - session.last_data >= _DRAIN_IDLE
            if now >= deadline or quiet:
                read_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await read_task
                return
            await asyncio.wait({read_task}, timeout=min(0.05, deadline - now))
        read_task.result()

    def flush(self) -> None:
        """Decode what is left; if the prelude never ran, show what the channel said instead
        (bash missing, a broken login shell, a syntax error on the command's first line)."""
        self._sink.flush()
        if self._preamble is not None:
            said = bytes(self._session.stderr_noise) + bytes(self._preamble)
            self._sink.cap.feed(said.decode("utf-8", errors="replace"))


async def run_remote(
    conn: asyncssh.SSHClientConnection,
    command_line: str,
    *,
    where: str,
    timeout: float | None,
    output_limit: int,
    on_output: OutputCallback | None,
    stdin: bytes | None,
    kill_grace: float,
    kill_slot: asyncio.Semaphore,
    active: set[_Session],
) -> tuple[RunResult, _Session]:
    """Run `command_line` (from `remote_command`) on its own channel; see the module docstring.
    The session is in `active` while it runs (so `kill_all` can end it)."""
    session = _Session()
    active.add(session)
    try:
        return await _run(conn, session, command_line, where, timeout, output_limit, on_output, stdin, kill_grace,
                          kill_slot)  # fmt: skip
    finally:
        active.discard(session)


async def _run(
    conn: asyncssh.SSHClientConnection,
    session: _Session,
    command_line: str,
    where: str,
    timeout: float | None,
    output_limit: int,
    on_output: OutputCallback | None,
    stdin: bytes | None,
    kill_grace: float,
    kill_slot: asyncio.Semaphore,
) -> tuple[RunResult, _Session]:
    import asyncssh

    try:
        chan, _ = await conn.create_session(lambda: session, command_line, encoding=None)
    except asyncio.CancelledError:
        if session.chan is not None:  # the exec request went out: the command may be starting
            killing = asyncio.ensure_future(kill_group(conn, session, kill_grace, kill_slot))
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(killing)
            session.chan.close()
        raise
    except asyncssh.ChannelOpenError as exc:
        if is_lost_connection(exc):
            raise lost_connection_error(where) from None
        raise EnvironmentError_(
            f"cannot start a command on {where}: {exc.reason} (the server may limit sessions per connection: "
            "MaxSessions in sshd_config)"
        ) from None
    except (asyncssh.Error, OSError) as exc:
        if is_lost_connection(exc):
            raise lost_connection_error(where) from None
        raise EnvironmentError_(f"cannot start a command on {where}: {exc}") from None
    if stdin:
        chan.write(stdin)
    chan.write_eof()  # no stdin: the command reads end-of-file at once, as from /dev/null
    cap = OutputCap(output_limit)
    pump = _ChannelPump(session, cap, on_output)
    read_task = asyncio.create_task(pump.run())
    exit_task = asyncio.create_task(session.exited.wait())
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout):
                await asyncio.wait({exit_task, read_task}, return_when=asyncio.FIRST_COMPLETED)
                if read_task.done():
                    read_task.result()  # an exception from on_output ends the run
                await exit_task
                await pump.drain(read_task)
        except TimeoutError:
            timed_out = True
            await kill_group(conn, session, kill_grace, kill_slot)
            await pump.drain(read_task)
    except BaseException:
        # Cancellation (or a failing on_output): nothing the command started survives.
        killing = asyncio.ensure_future(kill_group(conn, session, kill_grace, kill_slot))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(killing)
        raise
    finally:
        for task in (read_task, exit_task):
            task.cancel()
        chan.close()
        await asyncio.gather(read_task, exit_task, return_exceptions=True)
    pump.flush()
    if session.exit_code is None and not timed_out:
        if session.lost is not None:
            raise lost_connection_error(where)
        raise EnvironmentError_(f"the command on {where} ended without an exit status (the channel closed)")
    result = RunResult(
        exit_code=None if timed_out else session.exit_code,
        output=cap.text(),
        truncated=cap.truncated,
        timed_out=timed_out,
        cwd_after=session.cwd,
    )
    return result, session
