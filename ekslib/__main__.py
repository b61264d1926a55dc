"""``python -m ekslib``: the command line of :mod:`ekslib.cli`."""

from ekslib.cli import main

raise SystemExit(main())
