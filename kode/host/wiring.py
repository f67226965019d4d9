"""The one place that puts concrete pieces together into a Session.

Frontends get a SessionClient from here and nothing else; nothing below the CLI chooses an
environment, a model adapter or a policy for itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kode.config import LoadedConfig
from kode.config.paths import user_config_dir
from kode.core.agent import AgentSettings
from kode.core.budget import Budget
from kode.core.compaction import CompactionSettings
from kode.core.instructions import ProjectInstructions
from kode.core.permissions import PermissionMode, PermissionPolicy
from kode.core.routing import Routing
from kode.core.session import Session, SessionOptions
from kode.core.subagents import SubagentConfig, SubagentLimits
from kode.llm.fallback import FallbackModel
from kode.llm.litellm_adapter import LiteLLMModel
from kode.llm.retry import RetryPolicy
from kode.llm.retrying import RetryingModel
from kode.protocol.events import Event
from kode.runtime.environment import Environment
from kode.runtime.local import LocalEnvironment
from kode.tools.base import ToolRegistry, ToolSettings
from kode.tools.builtin import builtin_tools

if TYPE_CHECKING:
    from kode.repo.cache import TagStore


@dataclass(slots=True)
class Wiring:
    cwd: Path
    api_key: str | None
    interactive: bool
    env: Environment | None = None
    """Where tools run, when not the local `cwd` (an SshEnvironment for `--remote`)."""
    memory: Any = None
    """Long-term memories (a kode.store.StoreMemoryPort) when the session has a store."""
    repo_tags: TagStore | None = None
    """Where the repo map keeps parsed tags (the session's store), when it has one."""


def build_session(
    loaded: LoadedConfig, wiring: Wiring, *, session_id: str | None = None, history: list[Event] | None = None
) -> Session:
    s = loaded.settings
    tool_settings = ToolSettings(
        bash_default_timeout=s.tools.bash_default_timeout,
        bash_max_timeout=s.tools.bash_max_timeout,
        output_limit=s.tools.output_limit,
    )
    agent_settings = AgentSettings(
        model=s.models.main,
        api_base=s.provider.api_base or None,
        api_key=wiring.api_key,
        max_turns=s.agent.max_turns,
        max_output_tokens=s.llm.max_output_tokens or None,
        temperature=s.llm.temperature,
        system_prompt=s.agent.system_prompt,
        append_system_prompt=s.agent.append_system_prompt,
        tool_settings=tool_settings,
        compaction=CompactionSettings(
            window=s.context.window,
            compact_at=s.context.compact_at,
            keep_turns=s.context.keep_turns,
            summarizer=s.models.summarizer or s.models.fast or None,
        ),
        max_offered_tools=s.tools.max_offered,
        repo_map_tokens=s.context.repo_map_tokens,
        repo_tags=wiring.repo_tags,
        routing=Routing(
            long_context_model=s.routing.long_context_model,
            long_context_tokens=s.routing.long_context_tokens,
            budget_model=s.routing.budget_model,
            budget_share=s.routing.budget_share,
            kinds=dict(s.routing.kinds),
            router_model=s.models.router,
            routed_from=s.models.main,
        ),
    )
    model = FallbackModel(
        RetryingModel(
            LiteLLMModel(idle_timeout=s.llm.idle_timeout, request_timeout=s.llm.request_timeout),
            RetryPolicy(
                max_attempts=s.llm.max_attempts, backoff_initial=s.llm.backoff_initial, backoff_max=s.llm.backoff_max
            ),
        ),
        s.models.fallbacks,
    )
    policy = PermissionPolicy(
        PermissionMode(s.permissions.mode), allow=s.permissions.allow, ask=s.permissions.ask, deny=s.permissions.deny
    )
    env = wiring.env or LocalEnvironment(wiring.cwd)
    budget = Budget(session_usd=s.budget.session_usd, daily_usd=s.budget.daily_usd)
    return Session(
        memory=wiring.memory,
        budget=budget,
        subagents=subagent_config(loaded, wiring.cwd),
        instructions=ProjectInstructions(env, user_file=user_config_dir() / "AGENTS.md"),
        settings=agent_settings,
        model=model,
        tools=ToolRegistry(builtin_tools()),
        env=env,
        policy=policy,
        options=SessionOptions(interactive=wiring.interactive),
        session_id=session_id,
        history=history,
    )


def subagent_config(loaded: LoadedConfig, cwd: Path) -> SubagentConfig:
    """Agent types (built-in, the user's, the project's) and the limits, from config."""
    from kode.config.agents import load_agent_types

    s = loaded.settings.subagents
    return SubagentConfig(
        types=dict(load_agent_types(cwd).types),
        limits=SubagentLimits(
            max_depth=s.max_depth,
            max_concurrent=s.max_concurrent,
            max_turns=s.max_turns,
            token_budget=s.token_budget or None,
        ),
        model=s.model or None,
        check_command=s.check_command or None,
    )
