"""`kode config show`: every effective setting and the layer it came from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kode.cli import exit_codes


def show(cwd: Path, *, as_json: bool) -> int:
    from kode.config import ConfigError, load_config
    from kode.config.show import config_as_json, format_config

    try:
        loaded = load_config(cwd.resolve())
    except ConfigError as exc:
        sys.stderr.write(f"kode: config error:\n{exc}\n")
        return exit_codes.USAGE
    if as_json:
        sys.stdout.write(json.dumps(config_as_json(loaded), indent=2) + "\n")
    else:
        sys.stdout.write(format_config(loaded) + "\n")
    return exit_codes.OK
