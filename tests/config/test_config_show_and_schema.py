"""`kode config show`, the generated reference, the schema itself and the platform paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from kode.config import (
    Settings,
    agents_dir,
    config_as_json,
    data_dir,
    format_config,
    iter_settings,
    mask_secret,
    schema_markdown,
    setting_specs,
    themes_dir,
    user_config_dir,
    user_config_file,
)

SECRET = "sk-ant-abcdefghijklmnopqrstuvwxyz1234"


def test_format_config_lists_every_key_with_value_and_source(world):
    user = world.write_user('[models]\nmain = "openai/gpt-4o"\n')
    loaded = world.load(
        overrides={"agent.max_turns": 7}, labels={"agent.max_turns": "--max-turns"}
    )
    text = format_config(loaded)
    lines = {line.split(" = ")[0].strip(): line for line in text.splitlines() if " = " in line}
    assert set(lines) == set(setting_specs())
    assert lines["models.main"].split("#")[-1].strip() == f"user: {user}:2"
    assert '= "openai/gpt-4o"' in lines["models.main"]
    assert lines["agent.max_turns"].endswith("# flag: --max-turns")
    assert lines["llm.temperature"].endswith("# default")
    assert "= (unset)" in lines["llm.temperature"]
    assert "= []" in lines["permissions.allow"]
    assert str(user) in text.splitlines()[2]
    # Sources line up in one column when the values are short.
    columns = {line.index("  # ") for key, line in lines.items() if key != "permissions.allow"}
    assert len(columns) == 1


def test_secrets_are_masked_unless_asked(world):
    loaded = world.load(env={"KODE_API_KEY": SECRET})
    text = format_config(loaded)
    assert SECRET not in text
    assert '"sk-…1234"' in text
    assert SECRET in format_config(loaded, show_secrets=True)

    data = config_as_json(loaded)
    assert data["provider.api_key"] == {"value": "sk-…1234", "source": "env: KODE_API_KEY"}
    assert config_as_json(loaded, show_secrets=True)["provider.api_key"]["value"] == SECRET


def test_mask_secret():
    assert mask_secret("") == ""
    assert mask_secret("short-key") == "(set)"
    assert mask_secret("sk-0123456789abcdef1234") == "sk-…1234"


def test_config_as_json_has_every_key(world):
    loaded = world.load(env={"KODE_PERMISSIONS__ALLOW": "bash(ls*)"})
    data = config_as_json(loaded)
    assert list(data) == list(setting_specs())
    assert data["permissions.allow"] == {
        "value": ["bash(ls*)"],
        "source": "env: KODE_PERMISSIONS__ALLOW",
    }
    assert data["llm.idle_timeout"] == {"value": 60.0, "source": "default"}


def test_schema_markdown_documents_every_field():
    doc = schema_markdown()
    for spec in iter_settings():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{spec.key}` |"))
        assert f"`{spec.env_var}`" in row
        if spec.env_alias:
            assert f"`{spec.env_alias}`" in row
        assert (spec.info.description or "").split("`")[0].strip() in row
        assert row.count(" | ") == 4, row  # five cells, none broken by a stray pipe
    for section in Settings.model_fields:
        assert f"## `[{section}]`" in doc
    assert "| `permissions.mode` | one of `default`, `accept-edits`, `plan`, `bypass` |" in doc
    assert "| `llm.max_attempts` | integer, ≥ 1 | `4` |" in doc


def test_every_setting_is_documented_and_typed():
    for spec in iter_settings():
        assert spec.info.description, spec.key
        assert spec.info.annotation is not None, spec.key
    for name, info in Settings.model_fields.items():
        assert info.description, name


def test_settings_reject_unknown_keys_and_bad_modes():
    with pytest.raises(ValidationError):
        Settings.model_validate({"llm": {"idle_timout": 1}})
    with pytest.raises(ValidationError):
        Settings.model_validate({"nope": {}})
    with pytest.raises(ValidationError):
        Settings.model_validate({"permissions": {"mode": "yolo"}})
    bypass = Settings.model_validate({"permissions": {"mode": "bypass"}})
    assert bypass.permissions.mode == "bypass"


def test_user_config_dir_precedence(tmp_path: Path):
    home = tmp_path / "home"
    assert user_config_dir({"HOME": str(home), "KODE_CONFIG_DIR": "/k"}) == Path("/k")
    assert user_config_dir({"HOME": str(home), "KODE_CONFIG_DIR": "~/k"}) == home / "k"
    if sys.platform.startswith("linux"):
        xdg = {"HOME": str(home), "XDG_CONFIG_HOME": "/xdg"}
        assert user_config_dir(xdg) == Path("/xdg/kode")
        # Relative XDG paths are invalid by the XDG spec and ignored.
        relative = {"HOME": str(home), "XDG_CONFIG_HOME": "rel"}
        assert user_config_dir(relative) == home / ".config" / "kode"
        assert user_config_dir({"HOME": str(home)}) == home / ".config" / "kode"
        assert user_config_file({"HOME": str(home)}) == home / ".config" / "kode" / "config.toml"
        assert data_dir({"HOME": str(home)}) == home / ".local" / "share" / "kode"
        assert data_dir({"HOME": str(home), "XDG_DATA_HOME": "/d"}) == Path("/d/kode")
    assert data_dir({"HOME": str(home), "KODE_DATA_DIR": "/data"}) == Path("/data")
    env = {"HOME": str(home), "KODE_CONFIG_DIR": "/k"}
    assert themes_dir(env) == Path("/k/themes")
    assert agents_dir(env) == Path("/k/agents")
    assert not home.exists()  # nothing is created


def test_importing_config_stays_light():
    code = (
        "import sys, kode.config;"
        "heavy = {'tomlkit', 'platformdirs', 'difflib', 'rich', 'textual', 'litellm'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
