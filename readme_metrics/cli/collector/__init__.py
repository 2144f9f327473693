"""A local stand-in for ReadMe's Metrics API, with a HAR file and a dashboard (SPEC section 9).

Point ``README_METRICS_SERVER`` (``metrics_api``) at it to see exactly what the middleware
would send, with no ReadMe account and no network.

.. code-block:: python

    collector = LocalCollector(port=0, har_path="calls.har").start()
    config = MetricsApiConfig(api_key="k", grouping_function=..., metrics_api=collector.url)
    ...
    collector.stop()

The parts, one job each: :mod:`.receiver` (what a POST does), :mod:`.validation` (the
payload contract), :mod:`.har_file` (the file, valid at every moment), :mod:`.store` (the
last ``keep`` logs and their statistics), :mod:`.console` (what is printed) and
:mod:`.server` (HTTP: the server and its handler), with :mod:`.routes` (the paths, the
dashboard's files), :mod:`.framing` (a request's body read or refused), :mod:`.hosts`
(the Host guard) and :mod:`.timed_reader` (a connection's time limits).
"""

from __future__ import annotations

import os
import threading
import time
from typing import IO, Any, Optional

from readme_metrics.cli.collector.console import Console, format_line, summary_line
from readme_metrics.cli.collector.har_file import HarFile
from readme_metrics.cli.collector.hosts import is_loopback_name
from readme_metrics.cli.collector.receiver import Receiver
from readme_metrics.cli.collector.server import make_server
from readme_metrics.cli.collector.store import LogStore, endpoint_of, record_of

__all__ = ["SHUTDOWN_POLL", "HarFile", "LocalCollector", "LogStore", "endpoint_of", "format_line",
           "summary_line"]


#: How often a serving thread looks for a stop (socketserver's default: every 0.5 s, which
#: every stop of ``collect`` and ``demo`` waited for).
SHUTDOWN_POLL = 0.05


class LocalCollector:
    """The Metrics API stand-in: an HTTP server on its own thread (see the module doc)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8001,
        *,
        har_path: str | os.PathLike[str] | None = None,
        fresh_har: bool = True,
        api_key: Optional[str] = None,
        keep: int = 1000,
        out: Optional[IO[str]] = None,
        err: Optional[IO[str]] = None,
        summary_every: Optional[float] = None,
    ) -> None:
        """Bind the server (``port`` 0 picks a free one) and open the HAR file, if any.

        ``out`` gets one line per accepted log, and a summary line after a batch when
        ``summary_every`` seconds passed since the last one (0: after every batch; None:
        never); ``err`` gets the reasons for refused logs. None keeps a stream silent (for
        embedding). Raises OSError if the port cannot be used, and ValueError if the HAR
        file cannot be written or an existing file there is not a HAR file.
        """
        self.store = LogStore(keep)
        self.receiver = Receiver(self.store, None, Console(out, err, summary_every), api_key)
        self.host = host
        # On loopback, only loopback Host names are answered (DNS rebinding: .server).
        self.loopback_only = is_loopback_name(host)
        self.server = make_server(host, port, self.receiver, loopback_only=self.loopback_only)
        try:  # after the bind: a busy port must not leave a new, empty HAR file behind
            self.har = HarFile(har_path, fresh=fresh_har) if har_path is not None else None
        except OSError as exc:  # a folder, a missing folder: not a port problem
            self.server.server_close()
            raise ValueError(f"cannot write the HAR file {os.path.abspath(har_path or '')}: "
                             f"{exc.strerror or exc}") from exc
        except BaseException:
            self.server.server_close()
            raise
        self.receiver.har = self.har
        if self.har is not None and self.har.existing:
            # Show what the file already had, so a restart keeps the dashboard's history.
            self._load(self.har.existing)
            self.har.existing = []
        self.port = int(self.server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        self._thread: Optional[threading.Thread] = None
        self._stopped = False

    @property
    def api_key(self) -> Optional[str]:
        """The key POSTs must carry (Basic auth), or None when any is accepted."""
        return self.receiver.api_key

    def _load(self, entries: list[dict[str, Any]]) -> None:
        logs = []
        for index, entry in enumerate(entries):
            meta = entry.get("_readme")
            log = dict(meta) if isinstance(meta, dict) else {}
            if not isinstance(log.get("_id"), str):
                log["_id"] = f"file-entry-{index}"  # a browser's entry: still one link each
            self.receiver.seen.add(log["_id"])  # a retry after a restart is one too
            log["request"] = {"log": {"entries": [
                {k: v for k, v in entry.items() if k != "_readme"}
            ]}}
            try:
                record_of(log, 0, time.time())
            except (KeyError, TypeError, AttributeError, ValueError):
                continue  # a hand-edited entry stays in the file, off the dashboard
            logs.append(log)
        if logs:
            self.store.add(logs[-self.store.keep:])

    def start(self) -> LocalCollector:
        """Serve on a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="readme-metrics-collector", daemon=True,
            kwargs={"poll_interval": SHUTDOWN_POLL},
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; idempotent. The HAR file is always complete."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(5)
        self.server.server_close()
