"""``python -m graphssl`` runs the command line."""

from graphssl.cli import main

raise SystemExit(main())
