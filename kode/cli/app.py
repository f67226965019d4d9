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
    theme: Annotated[str | None, typer.Option(metavar="NAME", help="Theme for this run (see /theme).")] = None,
    plain: Annotated[bool, typer.Option("--plain", help="Line-mode REPL instead of the TUI (dumb terminals, screen readers, logs).")] = False,
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
                theme=theme,
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
        )
    )
    raise typer.Exit(code)


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
