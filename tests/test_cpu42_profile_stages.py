"""cpu42 (issue 11): ``benchmarks/profile_worker.py`` profiles the whole of a sender's
work per log, not the build and the encoding alone: its ``free`` stage (a built log's
tree of dicts and lists freed, as the sender frees each once encoded) and, with
``--post``, the POST of a batch of such logs over the route the senders use, each
answered by a real collector on 127.0.0.1. Failed before: no ``free`` stage, no
``post_per_log``. Figures are the benchmark's to report: here, that each stage runs the
real code (the logs arrive, each the log the build made).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import Any

from tests.support.command import REPO_ROOT
from tests.support.fake_api import Collector

SCRIPT = REPO_ROOT / "benchmarks" / "profile_worker.py"


def _module() -> Any:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        spec = importlib.util.spec_from_file_location("cpu42_profile_worker", SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


def test_the_stages_include_the_log_freed() -> None:
    tool = _module()
    pipeline, item = tool.captured(tool.bench.get_app, "GET", b"")
    stages = tool.stages(pipeline, item, 20)
    assert set(stages) == {"free", "to_exchange", "har_build_log", "encode"}
    assert all(value >= 0 for value in stages.values())
    assert tool.free_per_log(pipeline, item, 20) >= 0


def test_the_post_stage_delivers_each_batch_to_a_real_collector() -> None:
    tool = _module()
    pipeline, item = tool.captured(tool.bench.get_app, "GET", b"")
    part = tool.dumps(pipeline.build_log(item))
    collector = Collector().start()
    try:
        assert tool.post_per_log(collector.url, part, 3, 4) >= 0
        # One warm-up POST, then the 4 counted, each an array of 3 copies of the log.
        batches = collector.batches
        assert [len(batch) for batch in batches] == [3] * 5
        assert all(log == json.loads(part) for batch in batches for log in batch)
    finally:
        collector.stop()
