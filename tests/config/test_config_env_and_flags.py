"""Environment variables and flag overrides: coercion, lists, errors naming their origin."""

from __future__ import annotations

import pytest

from kode.config import ConfigError, parse_env_list


def test_short_env_aliases(world):
    loaded = world.load(
        env={
            "KODE_MODEL": "ollama/qwen2.5-coder",
            "KODE_FAST_MODEL": "ollama/tiny",
            "KODE_API_BASE": "http://127.0.0.1:8000/v1",
            "KODE_API_KEY": "sk-test",
            "KODE_PERMISSION_MODE": "plan",
            "KODE_MAX_TURNS": "12",
        }
    )
    s = loaded.settings
    assert s.models.main == "ollama/qwen2.5-coder"
    assert s.models.fast == "ollama/tiny"
    assert s.provider.api_base == "http://127.0.0.1:8000/v1"
    assert s.provider.api_key == "sk-test"
    assert s.permissions.mode == "plan"
    assert s.agent.max_turns == 12
    assert loaded.sources["agent.max_turns"] == "env: KODE_MAX_TURNS"
    assert loaded.sources["provider.api_base"] == "env: KODE_API_BASE"


def test_generic_env_names_are_coerced(world):
    loaded = world.load(
        env={
            "KODE_LLM__IDLE_TIMEOUT": "5",
            "KODE_LLM__MAX_ATTEMPTS": "1",
            "KODE_LLM__TEMPERATURE": "0.2",
            "KODE_TOOLS__OUTPUT_LIMIT": "1000",
            "KODE_AGENT__SYSTEM_PROMPT": "Be brief.",
        }
    )
    s = loaded.settings
    assert s.llm.idle_timeout == 5.0
    assert s.llm.max_attempts == 1
    assert s.llm.temperature == 0.2
    assert s.tools.output_limit == 1000
    assert s.agent.system_prompt == "Be brief."
    assert loaded.sources["llm.idle_timeout"] == "env: KODE_LLM__IDLE_TIMEOUT"


def test_generic_env_name_wins_over_short_alias(world):
    loaded = world.load(env={"KODE_MODEL": "a/short", "KODE_MODELS__MAIN": "a/long"})
    assert loaded.settings.models.main == "a/long"
    assert loaded.sources["models.main"] == "env: KODE_MODELS__MAIN"


def test_env_lists_as_json_or_comma_separated(world):
    loaded = world.load(
        env={
            "KODE_PERMISSIONS__ALLOW": '["bash(ls*)", "edit(src/**)"]',
            "KODE_PERMISSIONS__DENY": "bash(rm*), bash(sudo*) ,",
        }
    )
    assert loaded.settings.permissions.allow == ["bash(ls*)", "edit(src/**)"]
    assert loaded.settings.permissions.deny == ["bash(rm*)", "bash(sudo*)"]


def test_parse_env_list():
    assert parse_env_list('["a,b", "c"]') == ["a,b", "c"]
    assert parse_env_list("a, b") == ["a", "b"]
    assert parse_env_list("") == []
    with pytest.raises(ValueError):
        parse_env_list("[oops")


def test_empty_env_value_counts_as_unset(world):
    world.write_user('[models]\nmain = "openai/gpt-4o"\n')
    loaded = world.load(env={"KODE_MODEL": "", "KODE_LLM__IDLE_TIMEOUT": ""})
    assert loaded.settings.models.main == "openai/gpt-4o"
    assert loaded.settings.llm.idle_timeout == 60.0


def test_other_kode_variables_are_not_settings(world):
    loaded = world.load(env={"KODE_DATA_DIR": "/tmp/x", "KODE_DEBUG": "1"})
    assert set(loaded.sources.values()) == {"default"}


def test_unknown_generic_env_name_is_an_error_naming_it(world):
    with pytest.raises(ConfigError) as info:
        world.load(env={"KODE_LLM__IDLE_TIMOUT": "5"})
    assert str(info.value) == (
        "KODE_LLM__IDLE_TIMOUT: unknown setting (did you mean KODE_LLM__IDLE_TIMEOUT?)"
    )
    assert info.value.origin == "KODE_LLM__IDLE_TIMOUT"
    assert info.value.path is None

    with pytest.raises(ConfigError) as info:
        world.load(env={"KODE_X__Y": "1"})
    assert str(info.value) == "KODE_X__Y: unknown setting"


def test_bad_env_value_is_an_error_naming_the_variable(world):
    with pytest.raises(ConfigError) as info:
        world.load(env={"KODE_MAX_TURNS": "lots"})
    assert str(info.value) == "KODE_MAX_TURNS: agent.max_turns: must be an integer (got 'lots')"

    with pytest.raises(ConfigError) as info:
        world.load(env={"KODE_PERMISSION_MODE": "yolo"})
    assert str(info.value) == (
        "KODE_PERMISSION_MODE: permissions.mode: "
        "must be one of default, accept-edits, plan, bypass (got 'yolo')"
    )


def test_bad_env_json_list(world):
    with pytest.raises(ConfigError) as info:
        world.load(env={"KODE_PERMISSIONS__ALLOW": '["bash(ls*)"'})
    message = str(info.value)
    assert message.startswith(
        "KODE_PERMISSIONS__ALLOW: permissions.allow: is not a valid JSON list"
    )


def test_flags_override_everything_with_labels(world):
    world.write_user("[agent]\nmax_turns = 3\n")
    loaded = world.load(
        env={"KODE_MAX_TURNS": "4"},
        overrides={"agent.max_turns": 5, "llm.idle_timeout": "2.5", "models.fast": None},
        labels={"agent.max_turns": "--max-turns"},
    )
    assert loaded.settings.agent.max_turns == 5
    assert loaded.settings.llm.idle_timeout == 2.5
    assert loaded.sources["agent.max_turns"] == "flag: --max-turns"
    assert loaded.sources["llm.idle_timeout"] == "flag: llm.idle_timeout"
    # None means "flag not given".
    assert loaded.sources["models.fast"] == "default"


def test_permission_lists_accumulate_across_layers(world):
    user = world.write_user('[permissions]\nallow = ["bash(git status*)"]\ndeny = ["bash(rm*)"]\n')
    project = world.write_project(
        '[permissions]\nallow = ["edit(src/**)", "bash(git status*)"]\n'
    )
    loaded = world.load(
        env={"KODE_PERMISSIONS__ALLOW": "bash(make*)"},
        overrides={
            "permissions.allow": ["bash(ls*)", "bash(ls*)"],
            "permissions.ask": "bash(curl*)",
        },
        labels={"permissions.allow": "--allow", "permissions.ask": "--ask"},
    )
    p = loaded.settings.permissions
    assert p.allow == ["bash(git status*)", "edit(src/**)", "bash(make*)", "bash(ls*)"]
    assert p.deny == ["bash(rm*)"]
    assert p.ask == ["bash(curl*)"]
    assert loaded.sources["permissions.allow"] == (
        f"user: {user}:2 + project: {project}:2 + env: KODE_PERMISSIONS__ALLOW + flag: --allow"
    )
    assert loaded.sources["permissions.deny"] == f"user: {user}:3"
    assert loaded.sources["permissions.ask"] == "flag: --ask"


def test_empty_list_layer_keeps_lower_rules_and_source(world):
    user = world.write_user('[permissions]\nallow = ["bash(ls*)"]\n')
    world.write_project("[permissions]\nallow = []\n")
    loaded = world.load()
    assert loaded.settings.permissions.allow == ["bash(ls*)"]
    assert loaded.sources["permissions.allow"] == f"user: {user}:2"


def test_bad_flag_value_names_the_flag(world):
    with pytest.raises(ConfigError) as info:
        world.load(overrides={"agent.max_turns": 0}, labels={"agent.max_turns": "--max-turns"})
    assert str(info.value) == "--max-turns: agent.max_turns: must be at least 1 (got 0)"
    assert info.value.origin == "--max-turns"


def test_unknown_flag_key(world):
    with pytest.raises(ConfigError) as info:
        world.load(overrides={"models.mian": "x"}, labels={"models.mian": "--set"})
    assert str(info.value) == "--set: models.mian: unknown setting (did you mean models.main?)"


def test_flag_list_items_are_validated(world):
    with pytest.raises(ConfigError) as info:
        world.load(
            overrides={"permissions.deny": ["ok", 3]}, labels={"permissions.deny": "--deny"}
        )
    assert str(info.value) == "--deny: permissions.deny[1]: must be a string (got 3)"
