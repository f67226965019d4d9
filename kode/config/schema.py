"""The one typed, documented schema of kode's settings.

Every setting is a field of a section model below, with a type, a default and a description.
The loader validates files, environment variables and flags against these models; `kode config
show` and the generated reference (`show.schema_markdown`) read the same fields, so the schema is
the only place a setting is defined.

Field metadata understood by the loader (``json_schema_extra``):

- ``env``: a short environment variable that sets this field (besides the generic
  ``KODE_<SECTION>__<FIELD>`` form), e.g. ``KODE_MODEL`` for ``models.main``.
- ``secret``: the value is masked by ``kode config show`` and never echoed in error messages.
- ``merge``: ``"append"`` for list fields whose entries accumulate across layers (defaults, user
  file, project file, environment, flags) instead of the later layer replacing the earlier one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

PermissionMode = Literal["default", "accept-edits", "plan", "bypass"]
"""How tool calls are approved; the permission engine gives each mode its meaning."""

PERMISSION_MODES: tuple[str, ...] = ("default", "accept-edits", "plan", "bypass")

TaskKind = Literal["question", "search", "edit", "debug", "plan"]
"""The kinds of task that `routing.kinds` can send to different models (kode.core.task_kinds)."""


def _http_url_or_empty(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("must be empty or a URL starting with http:// or https://")
    return value


class _Section(BaseModel):
    """Base of every section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelsSettings(_Section):
    """Which models kode talks to."""

    main: str = Field(
        "anthropic/claude-sonnet-4-5",
        min_length=1,
        description=(
            "The model that does the work: any litellm model string, such as "
            "`openai/gpt-4o`, `anthropic/claude-sonnet-4-5`, `ollama/qwen2.5-coder` or "
            "`gemini/gemini-2.5-pro`."
        ),
        json_schema_extra={"env": "KODE_MODEL"},
    )
    fast: str = Field(
        "",
        description=(
            "A cheaper model for titles and summaries. Empty means use `models.main`."
        ),
        json_schema_extra={"env": "KODE_FAST_MODEL"},
    )
    summarizer: str = Field(
        "", description="The model that writes compaction summaries. Empty means `models.fast`, then `models.main`."
    )
    router: str = Field(
        "",
        description=(
            "A cheap model that classifies each request's task kind for `routing.kinds`. "
            "Empty means classify by the request's words (free, no model call)."
        ),
    )
    fallbacks: list[str] = Field(
        default_factory=list,
        description="Models tried in order when the main one fails after its retries (overloaded, down, rate-limited).",
    )


class ProviderSettings(_Section):
    """How to reach the model provider."""

    api_base: Annotated[str, AfterValidator(_http_url_or_empty)] = Field(
        "",
        description=(
            "Base URL of the provider's API, e.g. `http://127.0.0.1:8000/v1` for a local "
            "OpenAI-compatible server. Empty means the provider's default."
        ),
        json_schema_extra={"env": "KODE_API_BASE"},
    )
    api_key: str = Field(
        "",
        description=(
            "API key sent to the provider. Prefer the provider's own environment variable "
            "(`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, …) over writing a key into a file. "
            "Masked by `kode config show`."
        ),
        json_schema_extra={"env": "KODE_API_KEY", "secret": True},
    )


class LLMSettings(_Section):
    """How each model call is made: retries, timeouts and sampling."""

    max_attempts: int = Field(
        4,
        ge=1,
        description=(
            "Total attempts per model call, including the first; 1 means never retry."
        ),
    )
    backoff_initial: float = Field(
        1.0,
        ge=0,
        description=(
            "Seconds to wait before the first retry; the wait doubles per attempt, with "
            "jitter. A provider's `Retry-After` wins when it is longer."
        ),
    )
    backoff_max: float = Field(
        30.0, ge=0, description="Upper bound, in seconds, of the wait between retries."
    )
    idle_timeout: float = Field(
        60.0,
        gt=0,
        description=(
            "Seconds a response stream may stay silent before it is treated as stalled "
            "and retried."
        ),
    )
    request_timeout: float = Field(
        600.0, gt=0, description="Seconds a whole model call may take before it is abandoned."
    )
    max_output_tokens: int = Field(
        0,
        ge=0,
        description="Most tokens the model may write per call; 0 means the provider's default.",
    )
    temperature: float | None = Field(
        None,
        ge=0,
        le=2,
        description="Sampling temperature; unset means the provider's default.",
    )


class AgentSettings(_Section):
    """How the agent runs a turn."""

    max_turns: int = Field(
        50,
        ge=1,
        description="Model calls per user message before kode stops the turn.",
        json_schema_extra={"env": "KODE_MAX_TURNS"},
    )
    system_prompt: str = Field(
        "", description="Replaces kode's built-in system prompt when set."
    )
    append_system_prompt: str = Field(
        "", description="Text appended to the system prompt (built-in or replaced)."
    )


class PermissionSettings(_Section):
    """Which tool calls run without asking."""

    mode: PermissionMode = Field(
        "default",
        description=(
            "`default` asks before edits and commands; `accept-edits` applies file edits "
            "without asking; `plan` only reads and plans; `bypass` never asks."
        ),
        json_schema_extra={"env": "KODE_PERMISSION_MODE"},
    )
    allow: list[str] = Field(
        default_factory=list,
        description=(
            "Rules for tool calls that run without asking, such as `bash(git status*)` or "
            "`edit(src/**)`. Rules from every layer are combined."
        ),
        json_schema_extra={"merge": "append"},
    )
    ask: list[str] = Field(
        default_factory=list,
        description=(
            "Rules for tool calls that always ask first. Rules from every layer are combined."
        ),
        json_schema_extra={"merge": "append"},
    )
    deny: list[str] = Field(
        default_factory=list,
        description="Rules for tool calls that are refused. Rules from every layer are combined.",
        json_schema_extra={"merge": "append"},
    )


class ToolSettings(_Section):
    """Limits of the built-in tools."""

    bash_default_timeout: float = Field(
        120.0, gt=0, description="Seconds a shell command may run when the model sets no timeout."
    )
    bash_max_timeout: float = Field(
        600.0,
        gt=0,
        description="Longest timeout, in seconds, the model may ask for a shell command.",
    )
    output_limit: int = Field(
        30000,
        ge=1,
        description="Characters of tool output kept for the model; the rest is truncated.",
    )
    max_offered: int = Field(
        40,
        ge=0,
        description="With more tools than this, only those relevant to the request are offered (0: all).",
    )


class StoreSettings(_Section):
    """Where sessions are kept."""

    url: str = Field(
        "",
        description=(
            "Database for sessions: empty for SQLite in the data directory, or a URL such as "
            "postgresql://user:pass@host/kode for a shared team server."
        ),
        json_schema_extra={"env": "KODE_DATABASE_URL", "secret": True},
    )


class RoutingSettings(_Section):
    """Rules that send a request to another model (docs/context.md)."""

    long_context_model: str = Field("", description="Model for requests whose context passes long_context_tokens.")
    long_context_tokens: int = Field(0, ge=0, description="Context size, in tokens, that sends work to long_context_model (0: never).")
    budget_model: str = Field("", description="A cheaper model used once a session has spent budget_share of its cap.")
    budget_share: float = Field(0.8, gt=0, le=1.0, description="Share of budget.session_usd after which budget_model is used.")
    kinds: dict[TaskKind, str] = Field(
        default_factory=dict,
        description=(
            "Model per task kind (question, search, edit, debug, plan), e.g. "
            "`question = \"openai/gpt-4o-mini\"`. Applies while the session uses `models.main`; "
            "kinds not listed keep it."
        ),
    )


class BudgetSettings(_Section):
    """Spending caps: work stops with a clear message when one is reached."""

    session_usd: float = Field(0.0, ge=0, description="Most a session may spend, in USD (0: no cap).")
    daily_usd: float = Field(0.0, ge=0, description="Most all sessions may spend per day (UTC), in USD (0: no cap).")


class ContextSettings(_Section):
    """How long conversations are kept inside the model's window (docs/context.md)."""

    window: int = Field(0, ge=0, description="Tokens the model accepts (0: from litellm's model info, else 128000).")
    compact_at: float = Field(0.8, gt=0.1, le=1.0, description="Compact when the context passes this share of the window.")
    keep_turns: int = Field(4, ge=1, description="Latest user turns kept verbatim by a compaction.")
    repo_map_tokens: int = Field(
        1024, ge=0, description="Size of the repo map in the system prompt, built once per turn (0: no map)."
    )


class SubagentSettings(_Section):
    """Sub-agents started with the `task` tool and `/best-of`."""

    max_depth: int = Field(2, ge=0, le=5, description="How deep children may fork (0: no sub-agents).")
    max_concurrent: int = Field(4, ge=1, le=32, description="Children running at once; the rest wait.")
    max_turns: int = Field(30, ge=1, description="Model calls per child.")
    token_budget: int = Field(400_000, ge=0, description="Input plus output tokens per child (0: no limit).")
    model: str = Field("", description="Model for children whose agent type names none (empty: the parent's).")
    check_command: str = Field(
        "", description="What best-of-N runs to judge each attempt (empty: the project's tests, detected)."
    )


class ServerSettings(_Section):
    """`kode serve` and `kode --serve`: where the server listens and what it allows."""

    host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address to bind. Anything but loopback needs an explicit --token-file.",
    )
    port: int = Field(8765, ge=0, le=65535, description="Port to bind (0: any free port).")
    max_sessions: int = Field(32, ge=1, description="Sessions loaded at once (the rest stay in the store).")
    max_connections: int = Field(
        256, ge=1, description="Open event streams (SSE and WebSocket) across all sessions."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted, in bytes.")
    idle_unload: float = Field(
        900.0,
        gt=0,
        description="Seconds after which a session nobody is attached to is unloaded (it stays stored).",
    )
    heartbeat: float = Field(15.0, gt=0, description="Seconds between keep-alives on event streams.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed besides the server's own, e.g. https://ide.example.com.",
    )


class Settings(BaseModel):
    """All of kode's settings: the effective result of every configuration layer."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    models: ModelsSettings = Field(
        default_factory=ModelsSettings, description="Which models kode talks to."
    )
    provider: ProviderSettings = Field(
        default_factory=ProviderSettings, description="How to reach the model provider."
    )
    llm: LLMSettings = Field(
        default_factory=LLMSettings,
        description="How each model call is made: retries, timeouts and sampling.",
    )
    agent: AgentSettings = Field(
        default_factory=AgentSettings, description="How the agent runs a turn."
    )
    permissions: PermissionSettings = Field(
        default_factory=PermissionSettings, description="Which tool calls run without asking."
    )
    tools: ToolSettings = Field(
        default_factory=ToolSettings, description="Limits of the built-in tools."
    )
    store: StoreSettings = Field(
        default_factory=StoreSettings, description="Where sessions are kept."
    )
    server: ServerSettings = Field(
        default_factory=ServerSettings, description="The session server (`kode serve`)."
    )
    budget: BudgetSettings = Field(default_factory=BudgetSettings, description="Spending caps.")
    routing: RoutingSettings = Field(default_factory=RoutingSettings, description="Model routing rules.")
    context: ContextSettings = Field(
        default_factory=ContextSettings, description="Compaction of long conversations."
    )
    subagents: SubagentSettings = Field(
        default_factory=SubagentSettings, description="Sub-agents (`task`, `/best-of`)."
    )


@dataclass(frozen=True)
class SettingSpec:
    """One leaf setting of the schema, as the loader and the docs see it."""

    section: str
    name: str
    info: FieldInfo

    @property
    def key(self) -> str:
        """The dotted name, e.g. ``llm.idle_timeout``."""
        return f"{self.section}.{self.name}"

    @property
    def env_var(self) -> str:
        """The generic variable, e.g. ``KODE_LLM__IDLE_TIMEOUT``."""
        return f"KODE_{self.section.upper()}__{self.name.upper()}"

    def _extra(self, name: str) -> Any:
        extra = self.info.json_schema_extra
        return extra.get(name) if isinstance(extra, dict) else None

    @property
    def env_alias(self) -> str | None:
        """A short variable for this setting, e.g. ``KODE_MODEL``, if it has one."""
        return self._extra("env")

    @property
    def secret(self) -> bool:
        return bool(self._extra("secret"))

    @property
    def appends(self) -> bool:
        """True when each layer adds to this list instead of replacing it."""
        return self._extra("merge") == "append"

    @property
    def default(self) -> Any:
        return self.info.get_default(call_default_factory=True)


def sections() -> dict[str, type[BaseModel]]:
    """Section name -> section model, in schema order."""
    out: dict[str, type[BaseModel]] = {}
    for name, info in Settings.model_fields.items():
        model = info.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        out[name] = model
    return out


def iter_settings() -> Iterator[SettingSpec]:
    """Every leaf setting, in schema order."""
    for section, model in sections().items():
        for name, info in model.model_fields.items():
            yield SettingSpec(section, name, info)


def setting_specs() -> dict[str, SettingSpec]:
    """Dotted key -> spec, in schema order."""
    return {spec.key: spec for spec in iter_settings()}
