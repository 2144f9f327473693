"""The parts of benchmarks/bench.py (its entry point, command line and JSON output), one
job a module: ``workload`` (the requests and apps), ``collectors`` (the loopback Metrics
APIs), ``processes``, and one module per part of the report (``inprocess``, ``server``,
``memory``, ``sustained``, ``faults``; ``targets``). Split from one 1,220-line file by
house57. Importing it puts the repository and benchmarks/ first on ``sys.path``."""

from __future__ import annotations

import sys
from pathlib import Path

#: benchmarks/, the folder of bench.py and the other benchmark scripts.
HERE = Path(__file__).resolve().parents[1]
#: The repository: ``readme_metrics`` imported from it.
ROOT = HERE.parent
#: bench.py, which each child process runs (``collector``, ``slow-collector``,
#: ``memory-child``, ``fault-child``).
SCRIPT = HERE / "bench.py"

for _path in (ROOT, HERE):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
