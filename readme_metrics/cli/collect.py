"""``readme-metrics collect``: run the local Metrics API stand-in until Ctrl-C or SIGTERM.

The banner prints the exact line to copy into the app's shell (and the lines for a
``.env``, one variable a line): with
``README_METRICS_SERVER`` pointing at a loopback collector, the app also asks it for the
documentation URL, so one variable closes the local loop.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from readme_metrics.cli.collector import LocalCollector
from readme_metrics.cli.collector.console import silence
from readme_metrics.cli.proxies import no_proxy_export
from readme_metrics.cli.signals import StopSignals, end_the_ctrl_c_line
from readme_metrics.cli.text import cannot_listen, counted

__all__ = ["run_collect"]

_ANY_ADDRESS = ("0.0.0.0", "::", "")


def _say(*parts: Any) -> None:
    try:
        print(*parts, flush=True)
    except (OSError, ValueError):  # stdout closed (`collect | head`): collecting goes on
        silence(sys.stdout)


def _open(args: argparse.Namespace, har_path: str) -> LocalCollector | int:
    """The collector, or the exit code after a message that says what to do instead."""
    try:
        return LocalCollector(
            args.host, args.port, har_path=har_path, fresh_har=False, api_key=args.api_key,
            keep=args.keep, out=sys.stdout, err=sys.stderr,
            summary_every=max(args.summary_every, 0.0),
        )
    except ValueError as exc:
        print(f"readme-metrics collect: {exc}; choose another file with --har", file=sys.stderr)
    except OSError as exc:
        print(f"readme-metrics collect: {cannot_listen(args.host, args.port, exc)}",
              file=sys.stderr)
    return 2


def _banner(collector: LocalCollector, args: argparse.Namespace, har_path: str) -> None:
    assert collector.har is not None
    already = collector.har.count
    # The app reaches a collector listening on every address through loopback.
    reach = collector.url if args.host not in _ANY_ADDRESS \
        else f"http://127.0.0.1:{collector.port}"
    _say(f"readme-metrics collector listening on {collector.url}")
    _say(f"  dashboard:  {reach}/")
    _say(f"  HAR file:   {har_path}"
         + (f" (continuing, {counted(already, 'entry', 'entries')} so far)" if already else ""))
    for path in collector.har.removed_copies:
        _say(f"  removed {path.name}, a copy left by a collector that was killed")
    _say("Point your app at it: run this in the app's shell,")
    # README_API_URL too: the x-documentation-url lookup is asked here then, and each
    # logged response links to its call on the dashboard (with a loopback
    # README_METRICS_SERVER alone no lookup is made: the logs arrive all the same).
    _say(f"  export README_METRICS_SERVER={reach} README_API_URL={reach}")
    # One variable a line: the export line minus 'export' is one value with a blank in it.
    _say("or put these lines in a .env file in the app's working directory:")
    _say(f"  README_METRICS_SERVER={reach}")
    _say(f"  README_API_URL={reach}")
    exempt = no_proxy_export(reach)
    if exempt is not None:
        # The app's POSTs would go to that proxy, which cannot reach this machine's loopback.
        # (A .env cannot say it: the library reads its own variables there, and requests
        # reads the proxies from the real environment only.)
        _say("  WARNING: this shell sets a proxy (http_proxy, HTTP_PROXY or ALL_PROXY) "
             "that this address is not exempt from: an app started with it sends its logs "
             "to that proxy, not here. Run this in the app's shell too:")
        _say(f"  {exempt}")
    if args.api_key is None:
        _say("The app needs a README_API_KEY too: any value is accepted (--api-key KEY "
             "checks it).")
    else:
        _say("The app's README_API_KEY must be the key given with --api-key (others get 401).")
    if not collector.loopback_only:
        _say(f"  WARNING: listening on {args.host}: other machines can read the captured calls")
    _say("Press Ctrl-C to stop.")


def run_collect(args: argparse.Namespace) -> int:
    """``readme-metrics collect``: serve until Ctrl-C or SIGTERM; returns the exit code."""
    har_path = os.path.abspath(args.har)
    collector = _open(args, har_path)
    if isinstance(collector, int):
        return collector
    with StopSignals() as stop:  # before the banner: "Ctrl-C to stop" must hold at once
        # The socket listens since construction: a call made as soon as the banner's
        # first line shows waits in the backlog, and its console line comes after the
        # banner, not inside it (two threads printing at once join lines).
        _banner(collector, args, har_path)
        collector.start()
        end_the_ctrl_c_line(stop.wait(), sys.stdout)
        collector.stop()
    receiver = collector.receiver
    count = collector.har.count if collector.har is not None else 0
    _say(f"stopped: {counted(receiver.received, 'log')} received, {receiver.refused} refused; "
         f"{counted(count, 'entry', 'entries')} in {har_path}")
    return 0
