"""kode's settings: one typed, documented schema and a layered loader.

    from kode.config import load_config
    loaded = load_config(Path.cwd(), overrides={"models.main": "openai/gpt-4o"},
                         override_labels={"models.main": "--model"})
    loaded.settings.models.main        # "openai/gpt-4o"
    loaded.sources["models.main"]      # "flag: --model"
"""

from kode.config.loader import ConfigError, LoadedConfig, load_config, parse_env_list
from kode.config.paths import (
    agents_dir,
    data_dir,
    find_project_config,
    themes_dir,
    user_config_dir,
    user_config_file,
)
from kode.config.schema import (
    PERMISSION_MODES,
    AgentSettings,
    LLMSettings,
    ModelsSettings,
    PermissionMode,
    PermissionSettings,
    ProviderSettings,
    Settings,
    SettingSpec,
    ToolSettings,
    iter_settings,
    setting_specs,
)
from kode.config.show import config_as_json, format_config, mask_secret, schema_markdown

__all__ = [
    "PERMISSION_MODES",
    "AgentSettings",
    "ConfigError",
    "LLMSettings",
    "LoadedConfig",
    "ModelsSettings",
    "PermissionMode",
    "PermissionSettings",
    "ProviderSettings",
    "SettingSpec",
    "Settings",
    "ToolSettings",
    "agents_dir",
    "config_as_json",
    "data_dir",
    "find_project_config",
    "format_config",
    "iter_settings",
    "load_config",
    "mask_secret",
    "parse_env_list",
    "schema_markdown",
    "setting_specs",
    "themes_dir",
    "user_config_dir",
    "user_config_file",
]
