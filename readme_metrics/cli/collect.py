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

from readme_metrics.cli.addresses import interface_addresses, reach_from_here, url_at
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
    every = args.host in _ANY_ADDRESS
    here = reach_from_here(args.host, collector.port) if every else collector.url
    # On every address the app to point is elsewhere (a container, another machine:
    # else 127.0.0.1 would have done): its URLs name this machine's address, which its
    # own 127.0.0.1 is not.
    others = interface_addresses() if every else []
    reach = url_at(others[0][1], collector.port) if others else here
    _say(f"readme-metrics collector listening on {collector.url}"
         + (" (every address of this machine)" if every else ""))
    _say(f"  dashboard:  {here}/")
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
    if every:
        _where(others, here, collector.port)
    exempt = no_proxy_export(reach)
    if exempt is not None:
        # The app's POSTs would go to that proxy, which cannot reach this machine's loopback.
        # (A .env cannot say it: the library reads its own variables there, and requests
        # reads the proxies from the real environment only.)
        _say("  WARNING: this shell sets a proxy (http_proxy, HTTP_PROXY or ALL_PROXY) "
             "that this address is not exempt from: an app started with it sends its logs "
             "to that proxy, not here. Run this in the app's shell too (a .env file "
             "cannot set it: the proxies come from the process environment only):")
        _say(f"  {exempt}")
    if args.api_key is None:
        _say("The app needs a README_API_KEY too: any value is accepted (--api-key KEY "
             "checks it).")
    else:
        _say("The app's README_API_KEY must be the key given with --api-key (others get 401).")
    if not collector.loopback_only:
        _say(f"  WARNING: listening on {args.host}: other machines can read the captured calls")
    _say("Press Ctrl-C to stop.")


def _where(others: list[tuple[str, str]], here: str, port: int) -> None:
    """Which URL serves which app, for a collector on every address."""
    docker = url_at("host.docker.internal", port)
    if others:
        name, _ = others[0]
        rest = ", ".join(f"{url_at(address, port)} ({interface})"
                         for interface, address in others[1:])
        _say(f"  (this machine's address on {name}, for an app in a container or on another "
             f"machine; an app on this machine may use {here}"
             + (f"; other addresses: {rest}" if rest else "")
             + f"; in Docker Desktop's containers {docker} works too)")
    else:
        _say(f"  (for an app on this machine; an app in a container or on another machine "
             f"needs this machine's address instead of 127.0.0.1: in Docker Desktop's "
             f"containers {docker})")


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
