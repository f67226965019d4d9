"""Layering: defaults < user file < project file < environment < flags, and sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from kode.config import ConfigError, Settings, setting_specs


def test_defaults_when_nothing_is_configured(world):
    loaded = world.load()
    assert loaded.settings == Settings()
    assert loaded.files == []
    assert loaded.project_file is None
    assert set(loaded.sources) == set(setting_specs())
    assert set(loaded.sources.values()) == {"default"}


def test_every_layer_overrides_the_one_below(world):
    user = world.write_user(
        """
        [models]
        main = "openai/from-user"
        fast = "openai/fast-from-user"

        [llm]
        max_attempts = 2
        idle_timeout = 10
        request_timeout = 100
        """
    )
    project = world.write_project(
        """
        [llm]
        idle_timeout = 20
        request_timeout = 200

        [models]
        main = "openai/from-project"
        """
    )
    loaded = world.load(
        env={"KODE_MODEL": "openai/from-env", "KODE_LLM__REQUEST_TIMEOUT": "300"},
        overrides={"models.main": "openai/from-flag"},
        labels={"models.main": "--model"},
    )
    s = loaded.settings
    assert s.models.main == "openai/from-flag"
    assert s.models.fast == "openai/fast-from-user"
    assert s.llm.max_attempts == 2
    assert s.llm.idle_timeout == 20.0
    assert s.llm.request_timeout == 300.0
    assert s.llm.backoff_max == 30.0

    assert loaded.files == [user, project]
    assert loaded.project_file == project
    assert loaded.sources["models.main"] == "flag: --model"
    assert loaded.sources["models.fast"] == f"user: {user}:3"
    assert loaded.sources["llm.max_attempts"] == f"user: {user}:6"
    assert loaded.sources["llm.idle_timeout"] == f"project: {project}:2"
    assert loaded.sources["llm.request_timeout"] == "env: KODE_LLM__REQUEST_TIMEOUT"
    assert loaded.sources["llm.backoff_max"] == "default"
    assert loaded.source("llm.backoff_max") == "default"


def test_env_beats_project_file(world):
    world.write_project('[permissions]\nmode = "plan"\n')
    loaded = world.load(env={"KODE_PERMISSION_MODE": "accept-edits"})
    assert loaded.settings.permissions.mode == "accept-edits"
    assert loaded.sources["permissions.mode"] == "env: KODE_PERMISSION_MODE"


def test_line_numbers_for_dotted_keys_headers_and_multiline_values(world):
    path = world.write_project(
        '''
        # a comment mentioning [llm] and max_turns = 3
        agent.system_prompt = """
        [models]
        main = "not a real key"
        """
        models.fast = 'openai/mini'  # trailing comment

        [permissions]
        allow = [
          "bash(echo '[tools]')",  # a comment inside the array
          "edit(src/**)",
        ]
        "mode" = "plan"

        [ llm ]
        temperature = 0.5
        '''
    )
    loaded = world.load()
    src = loaded.sources
    assert src["agent.system_prompt"] == f"project: {path}:2"
    assert src["models.fast"] == f"project: {path}:6"
    assert src["permissions.allow"] == f"project: {path}:9"
    assert src["permissions.mode"] == f"project: {path}:13"
    assert src["llm.temperature"] == f"project: {path}:16"
    assert src["models.main"] == "default"
    assert loaded.settings.agent.system_prompt == '[models]\nmain = "not a real key"\n'
    assert loaded.settings.llm.temperature == 0.5


def test_dotted_key_under_a_table_header_is_located(world):
    path = world.write_project(
        """
        [permissions]
        mode = "plan"

        [llm]
        max_attempts = 3

        [agent]
        llm.max_attempts = 1
        """
    )
    with pytest.raises(ConfigError) as info:
        world.load()
    # Under [agent], `llm.max_attempts` means agent.llm.max_attempts: an unknown key.
    assert str(info.value) == f"{path}:8: agent.llm: unknown key"


def test_line_numbers_survive_tricky_strings(world):
    toml = "\n".join(
        [
            '"agent"."append_system_prompt" = """a \\""" still inside',
            "max_turns = 1 is text, not a key",
            '"""',
            "agent.system_prompt = '''",
            "[llm]'''",
            "\"models\" . 'fast' = \"a # not a comment\"",
            'models.main = "x" # [tools]',
            "[permissions]",
            "allow = [\"a]\", 'b']",
        ]
    )
    path = world.write_project(toml + "\n")
    loaded = world.load()
    src = loaded.sources
    assert src["agent.append_system_prompt"] == f"project: {path}:1"
    assert src["agent.system_prompt"] == f"project: {path}:4"
    assert src["models.fast"] == f"project: {path}:6"
    assert src["models.main"] == f"project: {path}:7"
    assert src["permissions.allow"] == f"project: {path}:9"
    assert src["agent.max_turns"] == "default"
    assert loaded.settings.models.fast == "a # not a comment"
    assert loaded.settings.permissions.allow == ["a]", "b"]


def test_keys_inside_inline_tables_point_at_the_table(world):
    path = world.write_project('# models\nllm = { idle_timeout = "x" }\n')
    with pytest.raises(ConfigError) as info:
        world.load()
    assert str(info.value) == f"{path}:2: llm.idle_timeout: must be a number (got 'x')"


def test_nearest_project_file_wins(world):
    world.write_project('[models]\nmain = "openai/outer"\n')
    inner_dir = world.project / "packages" / "inner"
    inner = world.write_project('[models]\nmain = "openai/inner"\n', directory=inner_dir)
    deep = inner_dir / "src" / "deep"
    deep.mkdir(parents=True)

    loaded = world.load(cwd=deep)
    assert loaded.settings.models.main == "openai/inner"
    assert loaded.files == [inner]
    assert loaded.project_file == inner


def test_project_search_stops_before_home(world):
    world.write(world.home / ".kode" / "config.toml", '[models]\nmain = "openai/home"\n')
    loaded = world.load(cwd=world.project)
    assert loaded.settings.models.main != "openai/home"
    assert loaded.files == []


def test_project_search_from_subdirectory(world):
    path = world.write_project('[agent]\nmax_turns = 9\n')
    sub = world.project / "a" / "b"
    sub.mkdir(parents=True)
    loaded = world.load(cwd=sub)
    assert loaded.settings.agent.max_turns == 9
    assert loaded.sources["agent.max_turns"] == f"project: {path}:2"


def test_user_file_found_as_project_file_is_read_once(world, tmp_path: Path):
    shared = world.project / ".kode"
    world.write(shared / "config.toml", "[permissions]\nallow = ['bash(ls*)']\n")
    loaded = world.load(env={"KODE_CONFIG_DIR": str(shared)})
    assert loaded.files == [shared / "config.toml"]
    assert loaded.settings.permissions.allow == ["bash(ls*)"]


def test_missing_user_file_is_fine(world):
    assert not world.user_file.exists()
    assert world.load().files == []


def test_values_are_typed(world):
    world.write_user("[llm]\nidle_timeout = 5\nmax_output_tokens = 1000\n")
    s = world.load().settings
    assert isinstance(s.llm.idle_timeout, float) and s.llm.idle_timeout == 5.0
    assert s.llm.max_output_tokens == 1000


def test_utf8_bom_is_accepted(world):
    world.user_file.write_bytes('\ufeff[models]\nmain = "openai/bom"\n'.encode())
    assert world.load().settings.models.main == "openai/bom"
