"""A throwaway home, user config folder and project for every config test.

Nothing here reads the real home or the process environment: every load gets an explicit
``environ`` with ``HOME`` and ``KODE_CONFIG_DIR`` pointing into ``tmp_path``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kode.config import LoadedConfig, load_config


@dataclass
class ConfigWorld:
    home: Path
    user_dir: Path
    project: Path

    @property
    def user_file(self) -> Path:
        return self.user_dir / "config.toml"

    @property
    def project_file(self) -> Path:
        return self.project / ".kode" / "config.toml"

    def environ(self, **extra: str) -> dict[str, str]:
        return {"HOME": str(self.home), "KODE_CONFIG_DIR": str(self.user_dir), **extra}

    @staticmethod
    def write(path: Path, text: str) -> Path:
        return write(path, text)

    def write_user(self, text: str) -> Path:
        return write(self.user_file, text)

    def write_project(self, text: str, directory: Path | None = None) -> Path:
        return write((directory or self.project) / ".kode" / "config.toml", text)

    def load(
        self,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> LoadedConfig:
        return load_config(
            cwd or self.project,
            overrides=overrides,
            override_labels=labels,
            environ=self.environ(**(env or {})),
        )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def world(tmp_path: Path) -> ConfigWorld:
    home = tmp_path / "home"
    user_dir = tmp_path / "user-config"
    project = home / "src" / "project"
    project.mkdir(parents=True)
    user_dir.mkdir()
    return ConfigWorld(home=home, user_dir=user_dir, project=project)
