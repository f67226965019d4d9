"""``python -m kode.testing.fake_provider``: see ``cli.main``."""

from .cli import main

raise SystemExit(main())
