"""A newcomer's first hour, twelfth pass: README followed in a fresh clone (the demo, the
test command, each quick start pointed at ``readme-metrics collect``, nginx in front with
``trusted_proxies``), then the mistakes a newcomer makes, and what the library says.

Each test is one thing tried there, with the library's real parts; none passed before its
fix, but for the options table's default column, which was right and is now held to it.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.options import BY_NAME, OPTIONS
from tests.support.ports import free_port
from tests.support.processes import stop_server
from tests.test_readme import _start_app

ROOT = Path(__file__).resolve().parent.parent


# -- README's options table: the default column is what MetricsApiConfig makes -------------

def _readme_option_rows() -> list[list[str]]:
    """The cells of each row of README's options table (argument, variable, default,
    meaning), as README has them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    header = "| argument | environment variable | default | meaning |"
    lines = text[text.index(header):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|", 3)])
    return rows


def _shown(cell: str, value: Any) -> bool:
    """Whether README's default cell (`10`, `262144` (256 KiB), `OPTIONS`, ...) says
    ``value``."""
    literal = re.match(r"`([^`]*)`", cell)
    assert literal, f"no `value` in the default cell {cell!r}"
    text = literal.group(1)
    size = re.search(r"\((\d+) (KiB|MiB)\)", cell)
    if size:  # the size in words agrees with the number
        assert int(text) == int(size.group(1)) * {"KiB": 1024, "MiB": 1024 ** 2}[size.group(2)]
    if text.startswith("logging.getLogger("):
        return eval(text, {"logging": logging}) is value  # noqa: S307 (README's own text)
    try:
        literal = ast.literal_eval(text)
    except (ValueError, SyntaxError):  # a URL, a list as the environment spells it
        return text == (",".join(value) if isinstance(value, list) else value)
    # A number is shown as its own type: a float option's 3 would read as an integer
    # beside flush_interval's 5.0 (review70: timeout and shutdown_timeout showed 3 and 5).
    same_kind = type(literal) is type(value) if isinstance(value, (int, float)) else True
    return bool(literal == value and same_kind and type(value) is not str)


def test_every_row_of_readmes_options_table_is_an_option_with_its_variable() -> None:
    rows = _readme_option_rows()
    assert [row[0] for row in rows] == [f"`{option.name}`" for option in OPTIONS]
    for name, variable, _, _ in rows:
        option = BY_NAME[name.strip("`")]
        assert variable == (f"`{option.variable}`" if option.variable else "-"), name


@pytest.mark.parametrize("row", _readme_option_rows(), ids=lambda row: row[0].strip("`"))
def test_readmes_default_for_each_option_is_the_one_metricsapiconfig_makes(
        row: list[str]) -> None:
    # README's table is readme_metrics.options.markdown_table(), verbatim (test_config),
    # but its default column is each option's shown_default, text written beside the
    # default itself: buffer_length's 10 changed to 20 in the code would still show 10.
    name, _, default, _ = row
    name = name.strip("`")
    option = BY_NAME[name]
    if option.alias_of is not None:
        assert default == "-"
        return
    if default == "required":
        given = {"api_key": "any-key", "grouping_function": lambda request: None}
        del given[name]
        with pytest.raises(ValueError, match=rf"{name}( \(README_[A-Z_]+\))? is required"):
            MetricsApiConfig(**given)
        return
    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    value = getattr(config, name)
    assert _shown(default, value), f"README shows {default} for {name}, the default is {value!r}"


# -- a grouping function whose signature does not take the request --------------------------

def _keyword_only(*, request: Any) -> None:
    return None


def _any_keywords(**keywords: Any) -> None:
    return None


class _Grouper:
    def group(self, request: Any) -> None:
        return None


@pytest.mark.parametrize("function, said", [
    # Said "_keyword_only(*, request) takes no argument, but it is called with one": it
    # does take one, by keyword.
    (_keyword_only, "_keyword_only(*, request) takes its arguments by keyword only, but it "
     "is called with one positional argument, the request: write def _keyword_only(request)"),
    (_any_keywords, "_any_keywords(**keywords) takes its arguments by keyword only, but it "
     "is called with one positional argument, the request: write def _any_keywords(request)"),
    # Said "cannot be called with the request alone (missing a required argument:
    # 'request'): it takes one argument, the request", which it does: the mistake is the
    # class's function passed for an instance's method.
    (_Grouper.group, "_Grouper.group(self, request) is a method taken from the class, not "
     "from an instance, so the request would be its self: pass an instance's, "
     "_Grouper().group, or make it a @staticmethod"),
])
def test_a_grouping_function_with_the_wrong_signature_says_what_to_write(
        function: Any, said: str) -> None:
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=function)
    assert str(caught.value) == (
        f"readme_metrics: grouping_function (README_GROUPING_FUNCTION): {said}")


def test_a_method_of_an_instance_or_a_function_taking_self_is_not_taken_for_one() -> None:
    # The instance's method works; so does a module-level function whose only parameter
    # happens to be called self.
    config = MetricsApiConfig(api_key="any-key", grouping_function=_Grouper().group)
    assert config.grouping_function("a request") is None

    def nested(self: Any, other: Any) -> None:
        return None

    with pytest.raises(ValueError, match=r"cannot be called with the request alone"):
        MetricsApiConfig(api_key="any-key", grouping_function=nested)


# -- trusted_proxies given as the proxies' addresses ---------------------------------------

_NOT_ADDRESSES = ("it is the number of reverse proxies in front of the app, not their "
                  "addresses (1 for one nginx or load balancer, 0 for none)")


@pytest.mark.parametrize("environment, argument, message", [
    # Behind nginx, a newcomer writes what gunicorn's --forwarded-allow-ips and other
    # frameworks' trusted proxies take: the proxy's address. It got the bare "must be an
    # integer >= 0", which does not say what the number counts.
    pytest.param("127.0.0.1", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an "
                 "integer >= 0, got '127.0.0.1' (from the environment): " + _NOT_ADDRESSES,
                 id="env-address"),
    pytest.param("10.0.0.0/8, 192.168.0.0/16", None, "trusted_proxies (README_TRUSTED_PROXIES) "
                 "must be an integer >= 0, got '10.0.0.0/8, 192.168.0.0/16' (from the "
                 "environment): " + _NOT_ADDRESSES, id="env-networks"),
    pytest.param("*", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got '*' (from the environment): " + _NOT_ADDRESSES, id="env-star"),
    pytest.param(None, ["127.0.0.1", "::1"], "trusted_proxies (README_TRUSTED_PROXIES) must "
                 "be an int >= 0, got the list ['127.0.0.1', '::1']: " + _NOT_ADDRESSES,
                 id="argument-list"),
    # As an argument it also said "strings like '127.0.0.1' are read from
    # README_TRUSTED_PROXIES", which sent the user to a variable that refuses it as well.
    pytest.param(None, "127.0.0.1", "trusted_proxies (README_TRUSTED_PROXIES) must be an "
                 "int >= 0, got the str '127.0.0.1': " + _NOT_ADDRESSES, id="argument-str"),
    pytest.param(None, "true", "trusted_proxies (README_TRUSTED_PROXIES) must be an int >= 0, "
                 "got the str 'true': it is the number of reverse proxies in front of the "
                 "app, not a flag (1 for one load balancer, 0 for none)", id="argument-flag"),
    # Numbers and words are not taken for addresses: as before, no hint.
    pytest.param("1.5", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got '1.5' (from the environment)", id="env-fraction"),
    pytest.param("one", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got 'one' (from the environment)", id="env-word"),
])
def test_trusted_proxies_given_as_addresses_says_it_is_a_count(
        monkeypatch: pytest.MonkeyPatch, environment: Any, argument: Any,
        message: str) -> None:
    if environment is not None:
        monkeypatch.setenv("README_TRUSTED_PROXIES", environment)
    given = {} if argument is None else {"trusted_proxies": argument}
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None, **given)
    assert str(raised.value) == "readme_metrics: " + message


# -- FastAPI without config=, a wrong value in the environment ------------------------------

_FASTAPI_FROM_THE_ENVIRONMENT = '''
from fastapi import FastAPI

from readme_metrics.fastapi import ReadMeMetricsMiddleware


def grouping_function(request):
    return None


app = FastAPI()
app.add_middleware(ReadMeMetricsMiddleware)


@app.get("/")
async def hello():
    return {"hello": "world"}
'''


def test_fastapi_without_config_says_a_wrong_variable_at_start_up_under_uvicorn(
        tmp_path: Path) -> None:
    # README_GROUPING_FUNCTION with a typo, the middleware added without config=:
    # Starlette builds it at the lifespan's start, and uvicorn said only "ASGI 'lifespan'
    # protocol appears unsupported" and dropped the error; the reason showed up only in
    # the traceback of the first request's 500.
    pytest.importorskip("uvicorn")
    pytest.importorskip("fastapi")
    (tmp_path / "app.py").write_text(_FASTAPI_FROM_THE_ENVIRONMENT)
    port = free_port()
    env = {**os.environ, "README_API_KEY": "any-key",
           "README_METRICS_SERVER": "http://127.0.0.1:9",
           "README_GROUPING_FUNCTION": "app:grouping_functon"}
    log = tmp_path / "uvicorn.log"
    proc = _start_app([sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)],
                      tmp_path, env, port, log)
    try:
        said = log.read_text()  # no request made: what a person sees at start-up
    finally:
        stop_server(proc)
    assert "ASGI 'lifespan' protocol appears unsupported" in said, said
    assert ("readme_metrics: grouping_function (README_GROUPING_FUNCTION) cannot import "
            "'app:grouping_functon': module 'app' has no attribute 'grouping_functon' (did "
            "you mean 'grouping_function'?) (from the environment); ReadMeMetricsMiddleware, "
            "added without config=, reads its options from the environment when Starlette "
            "first builds its middleware, so every request fails with this error (a 500): "
            "correct the value, or give it config=MetricsApiConfig(), which fails at "
            "start-up instead: app.add_middleware(ReadMeMetricsMiddleware, config=...) or "
            "Middleware(ReadMeMetricsMiddleware, config=...) in middleware=[...]") in said, said



def one_get(app: Any) -> None:
    """One ``GET /`` through an ASGI ``app`` in a loop of its own, its answer dropped."""
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/",
             "query_string": b"", "headers": [], "http_version": "1.1", "scheme": "http",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000), "root_path": "",
             "asgi": {"version": "3.0"}}
    asyncio.run(app(scope, receive, send))


def test_fastapi_without_config_says_a_wrong_variable_once(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # Starlette tries to build its middleware again at every call: one error, not one a
    # request; the exception still reaches the server each time (its 500).
    starlette = pytest.importorskip("starlette.applications")
    from starlette.middleware import Middleware

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    monkeypatch.setenv("README_GROUPING_FUNCTION", "newcomer12_no_such_module.group")
    monkeypatch.setenv("README_API_KEY", "any-key")
    app = starlette.Starlette(middleware=[Middleware(ReadMeMetricsMiddleware)])
    caplog.set_level(logging.ERROR, logger="readme_metrics")

    for _ in range(3):
        with pytest.raises(ValueError, match="newcomer12_no_such_module"):
            one_get(app)
    said = [r.getMessage() for r in caplog.records if "newcomer12_no_such_module" in
            r.getMessage()]
    assert len(said) == 1, said
    assert "added without config=" in said[0]


# -- a duration or a size written with its unit --------------------------------------------

@pytest.mark.parametrize("variable, raw, message", [
    # README_FLUSH_INTERVAL=5s, as Go's and most container tools' settings take a
    # duration: "must be a number of seconds ..., got '5s'" left the fix to work out, and
    # 3000ms is not 3000.
    ("README_FLUSH_INTERVAL", "5s", "flush_interval (README_FLUSH_INTERVAL) must be a number "
     "of seconds from 0 to 86400, got '5s' (from the environment): write the number of "
     "seconds alone, without a unit: 5"),
    ("README_TIMEOUT", "3000ms", "timeout (README_TIMEOUT) must be a number of seconds > 0 "
     "and <= 86400, got '3000ms' (from the environment): write the number of seconds "
     "alone, without a unit: 3"),
    ("README_SHUTDOWN_TIMEOUT", "1 min", "shutdown_timeout (README_SHUTDOWN_TIMEOUT) must be "
     "a number of seconds from 0 to 86400, got '1 min' (from the environment): write the "
     "number of seconds alone, without a unit: 60"),
    ("README_MAX_BODY_BYTES", "1MB", "max_body_bytes (README_MAX_BODY_BYTES) must be an "
     "integer >= 0, got '1MB' (from the environment): write the number of bytes alone, "
     "without a unit: 1048576 for 1 MiB"),
    ("README_MAX_QUEUE_BYTES", "512k", "max_queue_bytes (README_MAX_QUEUE_BYTES) must be an "
     "integer >= 1, got '512k' (from the environment): write the number of bytes alone, "
     "without a unit: 524288 for 512 KiB"),
    # No unit it knows, or too many digits for a float: as before, no hint.
    ("README_TIMEOUT", "5x", "timeout (README_TIMEOUT) must be a number of seconds > 0 and "
     "<= 86400, got '5x' (from the environment)"),
    ("README_MAX_BODY_BYTES", "9" * 400 + "kb", "max_body_bytes (README_MAX_BODY_BYTES) must "
     f"be an integer >= 0, got '{'9' * 400}kb' (from the environment)"),
])
def test_a_value_with_its_unit_says_the_number_to_write(
        monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, message: str) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    assert str(raised.value) == "readme_metrics: " + message


@pytest.mark.parametrize("option, value, message", [
    ("timeout", "5s", "timeout (README_TIMEOUT) must be an int or a float of seconds > 0 and "
     "<= 86400, got the str '5s': write the number of seconds alone, without a unit: 5"),
    ("max_body_bytes", "1MB", "max_body_bytes (README_MAX_BODY_BYTES) must be an int >= 0, "
     "got the str '1MB': write the number of bytes alone, without a unit: 1048576 for 1 MiB"),
])
def test_an_argument_with_its_unit_says_the_number_to_write(
        option: str, value: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                         **{option: value})
    assert str(raised.value) == "readme_metrics: " + message


# -- a typo in the grouping function's module ----------------------------------------------

@pytest.mark.parametrize("path, said", [
    # Django's quick start, myapp.metrics.grouping mistyped: a typo in the function's name
    # got "(did you mean 'grouping'?)", one in the module's only "No module named".
    ("newcomer12_pkg.metric.grouping", "No module named 'newcomer12_pkg.metric' (did you "
     "mean 'newcomer12_pkg.metrics'?)"),
    ("newcomer12_pk.metrics:grouping", "No module named 'newcomer12_pk' (did you mean "
     "'newcomer12_pkg'?)"),
    # A module the grouping module imports is missing: its own error, no guess.
    ("newcomer12_pkg.broken.grouping", "No module named 'newcomer12_no_such_dependency'"),
])
def test_a_typo_in_the_grouping_functions_module_says_the_module_meant(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, said: str) -> None:
    package = tmp_path / "newcomer12_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "metrics.py").write_text("def grouping(request):\n    return None\n")
    (package / "broken.py").write_text("import newcomer12_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("README_GROUPING_FUNCTION", path)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="any-key")
    assert str(raised.value) == (
        f"readme_metrics: grouping_function (README_GROUPING_FUNCTION) cannot import "
        f"{path!r}: {said} (from the environment)")
