"""``python -m wrapper.cli``: the console script."""

from wrapper.cli import main

raise SystemExit(main())
