"""`python -m kode` runs the same entry point as the `kode` command."""

from kode.cli.entry import main

raise SystemExit(main())
