"""``python -m readme_metrics``: the same as the ``readme-metrics`` command."""

from __future__ import annotations

import sys

from readme_metrics.cli import main

if __name__ == "__main__":
    sys.exit(main())
