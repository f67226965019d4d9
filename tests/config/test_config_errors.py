"""A broken config file is reported with path, line and what is wrong — never a traceback."""

from __future__ import annotations

import pytest

from kode.config import ConfigError


def error_of(world, text: str, *, user: bool = False) -> tuple[ConfigError, str]:
    path = world.write_user(text) if user else world.write_project(text)
    with pytest.raises(ConfigError) as info:
        world.load()
    return info.value, str(path)


def test_bad_choice_message_matches_the_documented_form(world):
    error, path = error_of(
        world,
        """
        [models]
        main = "openai/gpt-4o"

        [permissions]
        allow = ["bash(ls*)"]

        mode = "yolo"
        """,
    )
    assert str(error) == (
        f"{path}:7: permissions.mode: must be one of default, accept-edits, plan, bypass "
        "(got 'yolo')"
    )
    assert str(error.path) == path
    assert error.line == 7
    assert error.key == "permissions.mode"
    assert error.message == str(error)


def test_toml_syntax_error_has_line_and_column(world):
    error, path = error_of(world, '[models]\nmain = "openai/gpt-4o"\nfast = \n')
    assert str(error) == f"{path}:3:8: TOML syntax error: Invalid value"
    assert (error.line, error.column) == (3, 8)


def test_toml_error_at_end_of_file(world):
    error, path = error_of(world, '[permissions]\nallow = ["bash(ls*)",\n')
    assert str(error).startswith(f"{path}:3:1: TOML syntax error: ")
    assert "end of file" in str(error)


def test_duplicate_key_is_a_syntax_error_on_its_line(world):
    error, path = error_of(world, "[llm]\nmax_attempts = 2\nmax_attempts = 3\n")
    assert str(error).startswith(f"{path}:3:")


def test_unknown_key_suggests_the_right_one(world):
    error, path = error_of(world, "[llm]\nmax_attempts = 2\nidle_timout = 5\n")
    assert str(error) == f"{path}:3: llm.idle_timout: unknown key (did you mean llm.idle_timeout?)"


def test_unknown_dotted_key_suggests_the_right_one(world):
    error, path = error_of(world, "# one\n# two\nllm.request_timeuot = 5\n")
    assert str(error) == (
        f"{path}:3: llm.request_timeuot: unknown key (did you mean llm.request_timeout?)"
    )


def test_key_in_the_wrong_section_points_to_the_right_one(world):
    error, path = error_of(world, "[llm]\nmax_turns = 5\n")
    assert str(error) == f"{path}:2: llm.max_turns: unknown key (did you mean agent.max_turns?)"


def test_unknown_section(world):
    error, path = error_of(world, '# models\n[modles]\nmain = "x"\n')
    assert str(error) == f"{path}:2: modles: unknown section (did you mean [models]?)"


def test_top_level_key_suggests_its_section(world):
    error, path = error_of(world, 'model = "openai/gpt-4o"\n')
    assert str(error) == f"{path}:1: model: unknown key (did you mean models.main?)"


def test_unknown_key_without_a_close_match(world):
    error, path = error_of(world, "[tools]\nzzz = 1\n")
    assert str(error) == f"{path}:2: tools.zzz: unknown key"


def test_section_that_is_not_a_table(world):
    error, path = error_of(world, "# one\nllm = 3\n")
    assert str(error) == f"{path}:2: llm: must be a table, written [llm] (got 3)"


def test_wrong_types(world):
    error, path = error_of(
        world,
        """
        [llm]
        idle_timeout = "soon"
        max_attempts = 2.5
        request_timeout = true

        [models.main]
        name = "x"
        """,
    )
    assert str(error).splitlines() == [
        f"{path}:2: llm.idle_timeout: must be a number (got 'soon')",
        f"{path}:3: llm.max_attempts: must be an integer (got 2.5)",
        f"{path}:4: llm.request_timeout: must be a number (got true)",
        f"{path}:6: models.main: must be a string (got a table)",
    ]
    assert [e.line for e in error.errors] == [2, 3, 4, 6]
    assert error.line == 2


def test_out_of_range_values(world):
    error, path = error_of(world, "[llm]\ntemperature = 3\n[tools]\noutput_limit = 0\n")
    assert str(error).splitlines() == [
        f"{path}:2: llm.temperature: must be at most 2.0 (got 3)",
        f"{path}:4: tools.output_limit: must be at least 1 (got 0)",
    ]


def test_bad_list_item_is_located_at_its_key(world):
    error, path = error_of(world, '[permissions]\ndeny = [\n  "bash(rm*)",\n  42,\n]\n')
    assert str(error) == f"{path}:2: permissions.deny[1]: must be a string (got 42)"


def test_bad_api_base(world):
    error, path = error_of(world, '[provider]\napi_base = "127.0.0.1:8000/v1"\n')
    assert str(error) == (
        f"{path}:2: provider.api_base: must be empty or a URL starting with http:// or https:// "
        "(got '127.0.0.1:8000/v1')"
    )


def test_secret_values_are_not_echoed(world):
    error, path = error_of(world, "[provider]\napi_key = 12345678901234567890\n")
    assert str(error) == f"{path}:2: provider.api_key: must be a string"


def test_empty_main_model(world):
    error, path = error_of(world, '[models]\nmain = ""\n')
    assert str(error) == f"{path}:2: models.main: must not be empty (got '')"


def test_bad_value_in_a_lower_layer_is_reported_even_when_overridden(world):
    error, path = error_of(world, '[permissions]\nmode = "yolo"\n', user=True)
    assert error.path is not None and str(error.path) == path
    with pytest.raises(ConfigError):
        world.load(env={"KODE_PERMISSION_MODE": "plan"})


def test_problems_from_every_layer_are_reported_together(world):
    user = world.write_user("[llm]\nmax_attempts = 0\n")
    project = world.write_project("[agent]\nmax_turn = 1\n")
    with pytest.raises(ConfigError) as info:
        world.load(env={"KODE_MAX_TURNS": "x"})
    assert str(info.value).splitlines() == [
        f"{user}:2: llm.max_attempts: must be at least 1 (got 0)",
        f"{project}:2: agent.max_turn: unknown key (did you mean agent.max_turns?)",
        "KODE_MAX_TURNS: agent.max_turns: must be an integer (got 'x')",
    ]
    assert len(info.value.errors) == 3


def test_invalid_utf8(world):
    world.project_file.parent.mkdir(parents=True)
    world.project_file.write_bytes(b'[models]\nmain = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        world.load()
    assert str(info.value) == f"{world.project_file}:2: not valid UTF-8 (byte 0xe9)"


def test_config_path_that_is_a_directory(world):
    world.user_file.mkdir()
    with pytest.raises(ConfigError) as info:
        world.load()
    assert str(info.value) == f"{world.user_file}: is a directory, not a config file"
    assert info.value.line is None
