"""``python -m rnnviz ...``: see rnnviz.cli."""

from rnnviz.cli import main

raise SystemExit(main())
