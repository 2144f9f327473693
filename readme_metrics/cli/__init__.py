"""The ``readme-metrics`` command (SPEC section 9): ``collect`` and ``demo`` (and ``help``).

Both run on your machine, with no ReadMe account and nothing sent to ReadMe; they listen on
127.0.0.1 unless ``collect --host`` names another address:

- ``readme-metrics collect`` is a local stand-in for the Metrics API: point
  ``README_METRICS_SERVER`` at it to see exactly what the middleware sends, in a HAR file,
  on the console and on a live dashboard.
- ``readme-metrics demo`` serves a small example API wrapped with the middleware and
  sending to an embedded collector, so one command shows the whole flow.

Ctrl-C and SIGTERM stop either one cleanly: queued logs are flushed and the HAR file is
left complete (it is a valid HAR document at every moment anyway).

This module holds the parser and :func:`main`; each command is a module of its own
(:mod:`.collect`, :mod:`.demo`, imported only when run), the collector is the
:mod:`.collector` package and :mod:`.signals` turns Ctrl-C and SIGTERM into a stop request.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Optional, Sequence, TypeVar

from readme_metrics.version import __version__

DEFAULT_COLLECT_HAR = "readme-metrics.har"
DEFAULT_DEMO_HAR = "readme-metrics-demo.har"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-made line breaks of descriptions; show the defaults that exist."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


class _CommandParser(argparse.ArgumentParser):
    """A command's parser: an option it does not know is an error under its own usage.

    argparse hands a subcommand's unknown arguments back to the top parser, which then
    says ``readme-metrics: error: unrecognized arguments`` under a usage that lists none
    of the command's options.
    """

    #: The other commands' parsers, by name (set by :func:`build_parser`).
    others: dict[str, argparse.ArgumentParser] = {}

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            command = self.prog.split()[-1]
            hints = [f"{option} is an option of 'readme-metrics {name}', not of {command}"
                     for option in extras for name in _owners(self.others, option)]
            self.error(f"unrecognized arguments: {' '.join(extras)}"
                       + (f" ({'; '.join(hints)})" if hints else ""))
        return namespace, extras


def _owners(parsers: dict[str, argparse.ArgumentParser], argument: str) -> list[str]:
    """The names of the commands among ``parsers`` that take the option ``argument``
    (``--port`` or ``--port=8001``); none for anything else."""
    if not argument.startswith("--"):
        return []
    option = argument.split("=", 1)[0]
    return [name for name, parser in parsers.items()
            if option in parser._option_string_actions]  # noqa: SLF001 - no public handle


class _TopParser(argparse.ArgumentParser):
    """The ``readme-metrics`` parser: a command's option given before any command
    (``readme-metrics --port 8001``) said "invalid choice: '8001'", the option's value
    taken for the command; now it says the option goes after its command."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        given = list(sys.argv[1:] if args is None else args)
        if given and given[0] not in ("-h", "--help", "--version"):
            owners = _owners(_commands(self), given[0])
            if owners:
                option = given[0].split("=", 1)[0]
                calls = " or ".join(f"'readme-metrics {name} {option} ...'" for name in owners)
                self.error(f"{option} is an option of a command, given before any command: "
                           f"write it after the command, {calls}")
        return super().parse_known_args(args, namespace)


_N = TypeVar("_N", int, float)


def _number(text: str, kind: Callable[[str], _N], what: str) -> _N:
    """``text`` read as ``kind`` (int or float), or refused as not ``what``."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def _port(text: str) -> int:
    value = _number(text, int, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535 (0 = any free port), got {value}")
    return value


def _positive(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    value = _number(text, float, "a number of seconds")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def _key(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "empty (an unset variable?): every log would be refused; leave --api-key out "
            "to accept any key")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``readme-metrics`` command."""
    parser = _TopParser(
        prog="readme-metrics",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "See what readme-metrics sends to ReadMe's API Metrics, on your own machine:\n"
            "nothing is sent to ReadMe and no ReadMe account is needed. Both commands\n"
            "listen on 127.0.0.1 unless 'collect --host' names another address (then\n"
            "other machines can read the captured calls)."
        ),
        epilog=(
            "examples:\n"
            "  readme-metrics demo --requests 20    run the example API once, write a HAR file\n"
            "  readme-metrics demo                  serve the example API until Ctrl-C\n"
            "  readme-metrics collect               receive logs from your own app, started\n"
            "                                       in a shell with what collect prints:\n"
            "      export README_METRICS_SERVER=http://127.0.0.1:8001 "
            "README_API_URL=http://127.0.0.1:8001\n"
            "      export README_API_KEY=any-key\n"
            "      python your_app.py\n\n"
            "Run 'readme-metrics help COMMAND' (or 'readme-metrics COMMAND --help') for the\n"
            "options of a command. The middleware itself is no command: wrap your app as\n"
            "README.md's quick starts show, then run the app as usual.\n\n"
            "exit status: 0 stopped by Ctrl-C or SIGTERM, or every call of 'demo --requests N'\n"
            "  made and its log accepted; 1 'demo --requests N' did not get there; 2 wrong\n"
            "  arguments, or a port or HAR file that cannot be used."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                     parser_class=_CommandParser)
    _add_collect(commands)
    _add_demo(commands)
    for name, command in commands.choices.items():
        command.others = {other: parser for other, parser in commands.choices.items()
                          if other != name}
    helper = commands.add_parser(
        "help", help="show this help, or a command's: readme-metrics help collect",
        description="Show the help of readme-metrics, or of one of its commands.")
    helper.add_argument("topic", metavar="COMMAND", nargs="?", default=None,
                        help="the command to show the help of (collect, demo)")
    return parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each command, by name."""
    for action in parser._actions:  # noqa: SLF001 - argparse keeps no other handle on them
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def _help(parser: argparse.ArgumentParser, topic: Optional[str]) -> int:
    """``readme-metrics help [COMMAND]``: what a newcomer types first (argparse said
    "invalid choice: 'help'"); the help asked for, exit 0."""
    if topic is None:
        parser.print_help()
        return 0
    commands = _commands(parser)
    if topic not in commands:
        names = ", ".join(name for name in commands if name != "help")
        parser.error(f"no command {topic!r} to show the help of (the commands: {names})")
    commands[topic].print_help()
    return 0


def _add_collect(commands: Any) -> None:
    collect = commands.add_parser(
        "collect",
        help="run a local stand-in for the Metrics API, with a HAR file and a dashboard",
        formatter_class=_Formatter,
        description=(
            "Receive logs exactly as ReadMe's Metrics API would (POST /v1/request), check\n"
            "each one against the payload contract, and show them: one line per API call on\n"
            "the console, every entry appended to a HAR 1.2 file (importable in browser\n"
            "devtools), and a live dashboard at http://HOST:PORT/.\n\n"
            "Point your app at it, in the app's shell (it prints this line with its port):\n"
            "  export README_METRICS_SERVER=http://127.0.0.1:8001 "
            "README_API_URL=http://127.0.0.1:8001\n"
            "(README_API_URL gives each logged answer an x-documentation-url header that\n"
            "opens its call on the dashboard). The app still needs an API key\n"
            "(README_API_KEY), but any value is accepted unless --api-key is given\n"
            "(README_API_KEY=any-key will do: it never reaches ReadMe from here). A batch\n"
            "holding an invalid log is refused with 400 and the reasons, which are also\n"
            "printed to stderr."
        ),
    )
    collect.add_argument("--host", default="127.0.0.1",
                         help="address to listen on; keep the loopback default unless you "
                              "must reach it from a container")
    collect.add_argument("--port", type=_port, default=8001,
                         help="port to listen on; 0 picks a free one")
    collect.add_argument("--har", metavar="FILE", default=DEFAULT_COLLECT_HAR,
                         help="HAR file to append the entries to, in the current folder "
                              "unless a path is given; an existing HAR file is continued, any "
                              "other file is never overwritten")
    collect.add_argument("--api-key", metavar="KEY", type=_key, default=None,
                         help="accept only logs sent with this key, as ReadMe accepts only "
                              "your project's (give the app's README_API_KEY); by default "
                              "any key is accepted")
    collect.add_argument("--keep", metavar="N", type=_positive, default=1000,
                         help="calls kept in memory for the dashboard (the file keeps all)")
    collect.add_argument("--summary-every", metavar="SECONDS", type=_seconds, default=30.0,
                         help="print a summary line (calls, error rate, p50/p95) at most "
                              "this often while calls arrive; 0 = after every batch")


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="serve an example API wrapped with the middleware, sending to a local collector",
        formatter_class=_Formatter,
        description=(
            "Start a local collector and a small example API (JSON endpoints, a form login,\n"
            "a file upload and one failing endpoint) wrapped with MetricsMiddleware, which\n"
            "sends its logs to that collector. Then either serve until Ctrl-C, printing the\n"
            "URLs of the API and of the dashboard, or, with --requests N, call the API N\n"
            "times, flush the middleware, print a summary and exit."
        ),
    )
    demo.add_argument("--port", type=_port, default=None,
                      help="port of the example API (default: 8000; with --requests: a free "
                           "one)")
    demo.add_argument("--collector-port", metavar="PORT", type=_port, default=None,
                      help="port of the embedded collector and its dashboard (default: 8001; "
                           "with --requests: a free one)")
    demo.add_argument("--requests", metavar="N", type=_positive, default=None,
                      help="call the API N times, print a summary and exit")
    demo.add_argument("--har", metavar="FILE", default=DEFAULT_DEMO_HAR,
                      help="HAR file written by this run (a HAR file there is replaced; any "
                      "other file is never overwritten)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``readme-metrics`` and ``python -m readme_metrics``; returns the exit code."""
    # Labels and paths may be any Unicode; a console that cannot show them must not crash us.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "collect":
        from readme_metrics.cli.collect import run_collect

        return run_collect(args)
    if args.command == "demo":
        from readme_metrics.cli.demo import run_demo

        return run_demo(args)
    if args.command == "help":
        return _help(parser, args.topic)
    parser.print_help()
    return 2
