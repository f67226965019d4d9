"""The typer app: commands and their flags. Each command imports what it needs when it runs."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from kode import __version__
from kode.cli import exit_codes

app = typer.Typer(
    name="kode",
    help="kode: a terminal coding assistant. `kode` opens the TUI; `kode ask` answers one prompt for scripts.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Inspect kode's configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _sessions() -> typer.Typer:
    from kode.cli.sessions_cmd import sessions_app

    return sessions_app


app.add_typer(_sessions(), name="sessions")


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    stream_json = "stream-json"


class Mode(str, Enum):
    default = "default"
    accept_edits = "accept-edits"
    plan = "plan"
    bypass = "bypass"


# Flags shared by `kode` (the TUI) and `kode ask`, declared once.
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL", help="litellm model string, e.g. openai/gpt-4o.")]
ApiBaseOpt = Annotated[str | None, typer.Option(metavar="URL", help="Provider base URL (OpenAI-compatible servers, proxies).")]
AllowOpt = Annotated[list[str] | None, typer.Option(metavar="RULE", help="Allow rule, repeatable: 'bash(git status*)', 'edit(src/**)'.")]
DenyOpt = Annotated[list[str] | None, typer.Option(metavar="RULE", help="Deny rule, repeatable; deny wins over allow.")]
CwdOpt = Annotated[Path | None, typer.Option(metavar="DIR", help="Workspace directory (default: the current one).")]
ContinueOpt = Annotated[bool, typer.Option("--continue", "-c", help="Continue the latest session in this directory.")]
ResumeOpt = Annotated[str | None, typer.Option("--resume", "-r", metavar="ID", help="Continue the session with this id (or prefix).")]
SaveOpt = Annotated[bool, typer.Option("--save/--no-save", help="Store the session so it can be resumed.")]
RemoteOpt = Annotated[
    str | None,
    typer.Option(metavar="ssh://[USER@]HOST[:PORT]/PATH", help="Run every tool on this SSH host, in PATH (the agent runs here)."),
]
HostOpt = Annotated[str | None, typer.Option(metavar="ADDR", help="Address to bind (default 127.0.0.1; others need --token-file).")]
PortOpt = Annotated[int | None, typer.Option(min=0, max=65535, metavar="PORT", help="Port to bind (default 8765; 0 picks a free one).")]
TokenFileOpt = Annotated[
    Path | None,
    typer.Option(metavar="FILE", help="Token file (created 0600 if absent; default: server-token in the data dir)."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kode {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    permission_mode: Annotated[Mode | None, typer.Option(help="default: ask before edits and shell; accept-edits; plan: read-only; bypass.")] = None,
    allow: AllowOpt = None,
    deny: DenyOpt = None,
    cwd: CwdOpt = None,
    continue_latest: ContinueOpt = False,
    resume: ResumeOpt = None,
    save: SaveOpt = True,
    remote: RemoteOpt = None,
    theme: Annotated[str | None, typer.Option(metavar="NAME", help="Theme for this run (see /theme).")] = None,
    plain: Annotated[bool, typer.Option("--plain", help="Line-mode REPL instead of the TUI (dumb terminals, screen readers, logs).")] = False,
    serve: Annotated[bool, typer.Option("--serve", help="Also serve this session (and others) over HTTP; see `kode serve`.")] = False,
    host: HostOpt = None,
    port: PortOpt = None,
    token_file: TokenFileOpt = None,
) -> None:
    """kode: a terminal coding assistant.

    Run `kode` in a project directory for the interactive TUI, or `kode ask "PROMPT"` for a
    one-shot answer in scripts (it reads stdin too).
    """
    if ctx.invoked_subcommand is not None:
        return
    from kode.cli.tui_cmd import TuiOptions, run_tui

    run = run_tui
    if plain:
        from kode.cli.plain_cmd import run_plain

        run = run_plain  # the same flags, a line-mode frontend

    raise typer.Exit(
        run(
            TuiOptions(
                model=model,
                api_base=api_base,
                permission_mode=permission_mode.value if permission_mode else None,
                allow=allow or [],
                deny=deny or [],
                cwd=cwd,
                continue_latest=continue_latest,
                resume=resume,
                save=save,
                remote=remote,
                theme=theme,
                serve=serve,
                host=host,
                port=port,
                token_file=token_file,
            )
        )
    )


@app.command()
def ask(
    prompt: Annotated[
        list[str] | None, typer.Argument(metavar="PROMPT", help="The prompt. Standard input, when piped, is appended to it.", show_default=False)
    ] = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    api_key: Annotated[
        str | None, typer.Option(metavar="KEY", help="API key (prefer the provider's env var: flags show up in `ps`).")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--output-format", "-o", help="text streams the answer; json prints one result object; stream-json prints one event per line.")
    ] = OutputFormat.text,
    max_turns: Annotated[int | None, typer.Option(min=1, metavar="N", help="Model calls allowed before the turn stops.")] = None,
    permission_mode: Annotated[Mode | None, typer.Option(help="default: ask before edits and shell (denied here, as nobody can answer); accept-edits; plan: read-only; bypass.")] = None,
    allow: AllowOpt = None,
    deny: DenyOpt = None,
    cwd: CwdOpt = None,
    system: Annotated[str | None, typer.Option(metavar="TEXT", help="Replace kode's system prompt.")] = None,
    append_system: Annotated[str | None, typer.Option(metavar="TEXT", help="Append to the system prompt.")] = None,
    continue_latest: ContinueOpt = False,
    resume: ResumeOpt = None,
    save: SaveOpt = True,
    remote: RemoteOpt = None,
) -> None:
    """Answer one prompt and exit: for scripts and pipes.

    Exit codes: 0 ok, 1 agent or provider error, 2 usage error (bad flags, no prompt,
    broken config, no API key), 130 interrupted.
    """
    from kode.cli.ask import AskOptions, run_ask

    code = run_ask(
        AskOptions(
            prompt=" ".join(prompt or []),
            model=model,
            api_base=api_base,
            api_key=api_key,
            output_format=output_format.value,
            max_turns=max_turns,
            permission_mode=permission_mode.value if permission_mode else None,
            allow=allow or [],
            deny=deny or [],
            cwd=cwd,
            system=system,
            append_system=append_system,
            continue_latest=continue_latest,
            resume=resume,
            save=save,
            remote=remote,
        )
    )
    raise typer.Exit(code)


@app.command()
def serve(
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    max_turns: Annotated[int | None, typer.Option(min=1, metavar="N", help="Model calls allowed per turn.")] = None,
    permission_mode: Annotated[Mode | None, typer.Option(help="default: ask before edits and shell (any attached client answers); accept-edits; plan: read-only; bypass.")] = None,
    allow: AllowOpt = None,
    deny: DenyOpt = None,
    cwd: CwdOpt = None,
    system: Annotated[str | None, typer.Option(metavar="TEXT", help="Replace kode's system prompt.")] = None,
    append_system: Annotated[str | None, typer.Option(metavar="TEXT", help="Append to the system prompt.")] = None,
    save: SaveOpt = True,
    remote: RemoteOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    token_file: TokenFileOpt = None,
    socket: Annotated[str | None, typer.Option(metavar="PATH", help="Listen on a unix socket instead (auto: one per workspace in the data dir).")] = None,
    background: Annotated[bool, typer.Option("--background", help="Start or reuse a detached server on --socket, print {socket, token} as JSON, exit (used by attach over SSH).")] = False,
    ssh: Annotated[bool, typer.Option("--ssh", help="Also serve over SSH (public-key only): `ssh -p 2222 host` gets the TUI, `ssh host ask …` a one-shot answer.")] = False,
    ssh_host: Annotated[str, typer.Option(metavar="ADDR", help="Address for --ssh (default 127.0.0.1; 0.0.0.0 to accept others).")] = "127.0.0.1",
    ssh_port: Annotated[int, typer.Option(min=0, max=65535, metavar="PORT", help="Port for --ssh.")] = 2222,
    authorized_keys: Annotated[Path | None, typer.Option(metavar="FILE", help="Public keys allowed in over --ssh (default ~/.ssh/authorized_keys).")] = None,
) -> None:
    """Serve sessions over HTTP, SSE and WebSocket (headless; hosts many sessions).

    Binds 127.0.0.1 and requires `Authorization: Bearer TOKEN`; the token is created once
    (0600, in the data dir) and shown once. API under /v1; spec at /v1/openapi.json.
    """
    from kode.cli.serve_cmd import ServeOptions, run_serve

    raise typer.Exit(
        run_serve(
            ServeOptions(
                model=model,
                api_base=api_base,
                max_turns=max_turns,
                permission_mode=permission_mode.value if permission_mode else None,
                allow=allow or [],
                deny=deny or [],
                cwd=cwd,
                system=system,
                append_system=append_system,
                save=save,
                remote=remote,
                host=host,
                port=port,
                token_file=token_file,
                socket=socket,
                background=background,
                ssh=ssh,
                ssh_host=ssh_host,
                ssh_port=ssh_port,
                authorized_keys=authorized_keys,
            )
        )
    )


@app.command()
def attach(
    url: Annotated[str, typer.Argument(metavar="URL", help="The server, e.g. http://127.0.0.1:8765.")],
    session: Annotated[str | None, typer.Option("--session", "-s", metavar="ID", help="Session to attach to (default: the most recently active one).")] = None,
    new: Annotated[bool, typer.Option("--new", help="Start a new session on the server.")] = False,
    token_file: Annotated[Path | None, typer.Option(metavar="FILE", help="Token file (default: $KODE_SERVER_TOKEN, else this machine's server-token).")] = None,
    theme: Annotated[str | None, typer.Option(metavar="NAME", help="Theme for this run.")] = None,
) -> None:
    """Open the TUI on a session served by `kode serve` (or `kode --serve`).

    Another client on the same session sees everything live; a dropped connection reconnects
    and replays what it missed.
    """
    from kode.cli.attach_cmd import AttachOptions, run_attach

    raise typer.Exit(run_attach(AttachOptions(url=url, session=session, new=new, token_file=token_file, theme=theme)))


@app.command()
def acp(
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    permission_mode: Annotated[Mode | None, typer.Option(help="default: the editor is asked before edits and shell; accept-edits; plan: read-only; bypass.")] = None,
    allow: AllowOpt = None,
    deny: DenyOpt = None,
) -> None:
    """Run as an Agent Client Protocol agent on stdin/stdout (for Zed, JetBrains, Toad…)."""
    from kode.cli.acp_cmd import run_acp
    from kode.cli.common import SessionFlags

    raise typer.Exit(
        run_acp(
            SessionFlags(
                model=model,
                api_base=api_base,
                permission_mode=permission_mode.value if permission_mode else None,
                allow=allow or [],
                deny=deny or [],
            )
        )
    )


@app.command("map")
def repo_map(
    files: Annotated[list[str] | None, typer.Argument(metavar="FILES", help="Files the map is personalised to.", show_default=False)] = None,
    tokens: Annotated[int, typer.Option(min=64, metavar="N", help="Token budget of the map.")] = 1024,
    query: Annotated[str, typer.Option(metavar="TEXT", help="Words of a request; files defining them rank higher.")] = "",
    cwd: CwdOpt = None,
) -> None:
    """Print the repo map: the most relevant files and their definitions, within a token budget."""
    from kode.cli.map_cmd import run_map

    raise typer.Exit(run_map((cwd or Path.cwd()).resolve(), tokens, files or [], query))


@config_app.command("show")
def config_show(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON: {key: {value, source}}.")] = False,
    cwd: Annotated[Path | None, typer.Option(metavar="DIR", help="Directory whose project config applies.")] = None,
) -> None:
    """Print every effective setting and where its value came from."""
    from kode.cli.config_cmd import show

    raise typer.Exit(show(cwd or Path.cwd(), as_json=json_output))


def run(args: list[str]) -> int:
    try:
        app(args=args, prog_name="kode")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else exit_codes.USAGE)
    return exit_codes.OK
