"""A server that several tests of a module share (tests/test_asgi_conformance.py's
``served``): :class:`Served` says where it is, and :class:`Share` is one test's part of
it, whose ``X-Trace`` headers carry a tag of its own so that it reads only its own
traces (the file tests/support/asgi_cases.py's wrapped app appends each to) and logs."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Optional

from tests.support.fake_api import Collector, LogsMissing


def _trace_of(log: dict[str, Any]) -> str:
    """The ``X-Trace`` header of the request a log is of."""
    request = log["request"]["log"]["entries"][0]["request"]
    return next(h["value"] for h in request["headers"] if h["name"].lower() == "x-trace")


_TAGS = itertools.count()


class Served:
    """A server kept for every test of the module that asks for its ``(app, server)``
    (tests/test_asgi_conformance.py's ``served``): its port, the file its wrapped app
    appends each ``X-Trace`` to (None for an app that keeps none: tests/test_e2e_servers.py's
    kept servers), the collector it posts to, the file of what it printed, and how long a
    test waits for its logs (reached only when something is wrong)."""

    def __init__(self, port: int, traces: Optional[Path], collector: Collector, output: Path,
                 patience: float) -> None:
        self.port, self.traces, self.collector, self.output = port, traces, collector, output
        self.patience = patience


class Share:
    """One test's part of a :class:`Served` server: every trace it sends carries a tag
    of its own (:meth:`trace`), and it reads only the traces and logs with that tag,
    named without it (:meth:`name`), whatever the tests before it sent."""

    def __init__(self, served: Served) -> None:
        self.served, self.port = served, served.port
        self.tag = f"t{next(_TAGS)}."

    def trace(self, name: str) -> str:
        return self.tag + name

    def name(self, log: dict[str, Any]) -> str:
        return _trace_of(log)[len(self.tag):]

    def _mine(self, log: dict[str, Any]) -> bool:
        request = log["request"]["log"]["entries"][0]["request"]
        return any(h["name"].lower() == "x-trace" and h["value"].startswith(self.tag)
                   for h in request["headers"])

    def reached(self) -> list[str]:
        """The names this test's wrapped calls reached the app with, sorted."""
        traces = self.served.traces
        lines = (traces.read_text(encoding="latin-1").split()
                 if traces is not None and traces.exists() else [])
        return sorted(line[len(self.tag):] for line in lines if line.startswith(self.tag))

    def logs(self, count: int) -> list[dict[str, Any]]:
        """This test's logs once ``count`` of them arrived (tests/test_asgi_conformance.py's
        ``_wait_logs`` for a shared server: the calls that reached the app and were not
        logged are named, and the end of what the server printed is added)."""
        try:
            return self.served.collector.wait_for_matching(
                self._mine, count, timeout=self.served.patience)
        except LogsMissing as missing:
            logged = {self.name(log) for log in self.served.collector.logs if self._mine(log)}
            said = self.served.output.read_text(errors="replace")[-4000:] or "(nothing)"
            lost = ("" if self.served.traces is None else "; reached the app, not logged: "
                    f"{sorted(set(self.reached()) - logged)}")
            raise LogsMissing(f"{missing}{lost}\n--- {self.served.output.name} ---\n{said}",
                              self.served.collector) from None

    def batches(self) -> list[list[dict[str, Any]]]:
        """The batches the collector got, each cut to this test's logs (none left out
        but the others')."""
        return [mine for batch in self.served.collector.batches
                if (mine := [log for log in batch if self._mine(log)])]
