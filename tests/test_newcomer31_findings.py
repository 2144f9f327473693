"""newcomer31's first hour on main at 7db6b22e (2026-12-06): README followed in order from
a fresh clone (demo, the tests' first minutes, the four quick starts under the servers
README names, six options from the environment, the likely mistakes of Troubleshooting).
Each test named "warned", "says" or "hint" failed there and passes with its fix.

1. README_API_KEY read from a secrets file keeps its line break (``kubectl create secret
   --from-file``, ``os.environ[...] = path.read_text()``): the configuration strips it,
   but a grouping function returning ``os.environ["README_API_KEY"]`` as the caller's key
   (the two keys mixed up) compared the raw value with the stripped one, and newcomer30's
   warning never came: every call went to ReadMe as one caller, without a word.
2. An ``api_key`` returned as bytes (read from an ASGI scope's raw headers, or a
   database driver's column) was refused with "of type bytes, which is not a key" and no
   word of what to do: the error now says to decode it.
3. The same secrets file as the webhook secret (``examples/flask/webhooks.py`` passes
   ``os.environ["README_API_KEY"]``): the line break went into the HMAC key and every
   call ReadMe signed was "Invalid Signature". A secret with blanks around it is now also
   tried without them; a blank secret is refused, as the empty one was.
4. ``readme-metrics collect`` in a shell with a proxy offers a ``.env`` file for
   README_METRICS_SERVER and then "export NO_PROXY=..."; a NO_PROXY put in that .env
   beside the others did nothing (the library reads only its own variables from the
   file, requests the proxies from the environment) and every POST went to the proxy,
   whose warning said to set NO_PROXY, which the user had. The app now says at start-up
   that the file's proxy variables are not applied; the collector's banner says a .env
   cannot set it.
5. The caller's own record returned whole (a FastAPI dependency's pydantic user, a
   dataclass, a namedtuple row) was refused with the generic shape only: the error now
   names the call that makes it the mapping (``.model_dump(include=...)``,
   ``dataclasses.asdict``, ``._asdict()``), read from the class, nothing called.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.masking import mask
from readme_metrics.webhooks import VerificationError, VerifyWebhook
from tests.support.asgi import http_scope, run
from tests.support.command import REPO_ROOT, CommandProcess
from tests.support.fake_api import Collector, free_port
from tests.support.load_file import load_file
from tests.support.processes import run_command
from tests.support.wsgi_servers import served

#: A key of the shape of a real ReadMe key (no placeholder: no start-up warning of its own).
READMES_KEY = "rdme_xn8s9hb2c0f6e4d1a7k3m5p9q2r8t4v6w0y1z3aBcDeFgHiJkLmNoPqRsTuVwXyZ0123"
WORDS = "your ReadMe API key"


def _hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"hello": "world"}']


def _from_the_environment(request: Any) -> Optional[dict[str, str]]:
    # The mistake, as written in an app: the project's key where the caller's belongs.
    return {"api_key": os.environ["README_API_KEY"], "label": "Customer name"}


def _said(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if WORDS in r.getMessage()]


def _everything(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


# -- 1. the ReadMe key from a secrets file, returned as the caller's -------------------------


@pytest.mark.parametrize("read", [
    READMES_KEY + "\n",        # a file written by echo, or an editor
    READMES_KEY + "\r\n",      # written on Windows
    " " + READMES_KEY + " \n",  # pasted with blanks around it
], ids=["newline", "crlf", "blanks"])
def test_the_readme_key_from_a_file_returned_as_the_callers_is_warned(
        read: str, collector: Collector, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    monkeypatch.setenv("README_API_KEY", read)
    config = MetricsApiConfig(grouping_function=_from_the_environment,
                              metrics_api=collector.url,
                              base_log_url="https://docs.example.com", buffer_length=1)
    assert config.api_key == READMES_KEY  # the configuration strips the line break
    app = MetricsMiddleware(_hello, config)
    with served("werkzeug", app) as port:
        for _ in range(2):
            answer = requests.get(f"http://127.0.0.1:{port}/", timeout=30)
            assert answer.status_code == 200
        logs = collector.wait_for_logs(2)
    app.close()
    # Still logged, under the mask of what the function returned, never in clear.
    assert [log["group"]["id"] for log in logs] == [mask(read)] * 2
    assert all(READMES_KEY not in received.body.decode() for received in collector.received)
    [said] = _said(caplog)  # once, not per call
    assert said.levelno == logging.WARNING
    assert "README_API_KEY" in said.getMessage()
    assert READMES_KEY not in _everything(caplog)
    assert READMES_KEY[-4:] not in said.getMessage()


def test_an_async_grouping_function_returning_the_key_from_a_file_is_warned(
        collector: Collector, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    monkeypatch.setenv("README_API_KEY", READMES_KEY + "\n")

    async def grouping(request: Any) -> dict[str, str]:
        return {"api_key": os.environ["README_API_KEY"]}

    async def hello(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = AsgiMetricsMiddleware(hello, MetricsApiConfig(
        grouping_function=grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1))
    asyncio.run(run(app, http_scope()))
    collector.wait_for_logs(1)
    app.close()
    assert len(_said(caplog)) == 1
    assert READMES_KEY not in _everything(caplog)


@pytest.mark.parametrize("callers", ["owlbert-key\n", READMES_KEY[:-1], READMES_KEY + "x"],
                         ids=["callers", "shorter", "longer"])
def test_a_callers_key_near_the_readme_key_says_nothing(
        callers: str, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    app = MetricsMiddleware(_hello, MetricsApiConfig(
        api_key=READMES_KEY + "\n", grouping_function=lambda request: {"api_key": callers},
        metrics_api=collector.url, base_log_url="https://docs.example.com",
        buffer_length=1))
    with served("werkzeug", app) as port:
        requests.get(f"http://127.0.0.1:{port}/", timeout=30)
        [log] = collector.wait_for_logs(1)
    app.close()
    assert log["group"]["id"] == mask(callers)
    assert _said(caplog) == []


# -- 2. an api_key returned as bytes -----------------------------------------------------------


@pytest.mark.parametrize("raw", [b"owlbert-key", bytearray(b"owlbert-key"),
                                 memoryview(b"owlbert-key")],
                         ids=["bytes", "bytearray", "memoryview"])
def test_an_api_key_as_bytes_has_a_hint_to_decode_it(
        raw: Any, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    async def hello(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def grouping(request: Any) -> dict[str, Any]:
        # The caller's key from the scope's raw headers: bytes, as the ASGI server gave it.
        assert dict(request.environ["asgi.scope"]["headers"])[b"x-api-key"] == b"owlbert-key"
        return {"api_key": raw}

    app = AsgiMetricsMiddleware(hello, MetricsApiConfig(
        api_key=READMES_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1))
    asyncio.run(run(app, http_scope(headers=[(b"x-api-key", b"owlbert-key")])))
    app.close()
    [error] = [r for r in caplog.records if "api_key" in r.getMessage()
               and r.levelno == logging.ERROR]
    message = error.getMessage()
    assert "not logged" in message and "key.decode()" in message, message
    assert "owlbert-key" not in _everything(caplog)  # the key itself is never said
    assert app.stats["skipped"] == 1 and collector.received == []


# -- 3. the webhook secret from a secrets file ---------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PAYLOAD = b'{"email":"ana@example.com"}'


def _signed(body: bytes, key: bytes, t: Optional[int] = None) -> str:
    # As ReadMe signs: HMAC-SHA256 of "{t}.{body}" with the project's API key.
    t = int(time.time() * 1000) if t is None else t
    return f"t={t},v0={hmac.new(key, f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def _example_webhooks() -> Any:
    return load_file("newcomer31_flask_webhooks", EXAMPLES / "flask" / "webhooks.py")


@pytest.mark.parametrize("read", [READMES_KEY + "\n", READMES_KEY + "\r\n",
                                  " " + READMES_KEY + " \n"],
                         ids=["newline", "crlf", "blanks"])
def test_a_webhook_secret_from_a_file_verifies_readmes_signature(
        read: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("flask")
    # The example reads the secret from README_API_KEY, here as a secrets file left it.
    monkeypatch.setenv("README_API_KEY", read)
    app = _example_webhooks().create_app()
    with served("werkzeug", app) as port:
        url = f"http://127.0.0.1:{port}/webhook"
        good = requests.post(url, data=PAYLOAD, timeout=30, headers={
            "readme-signature": _signed(PAYLOAD, READMES_KEY.encode())})
        forged = requests.post(url, data=PAYLOAD, timeout=30, headers={
            "readme-signature": _signed(PAYLOAD, b"rdme_wrong")})
    assert good.status_code == 200, good.text
    assert good.json()["email"] == "ana@example.com"
    assert (forged.status_code, forged.json()) == (401, {"error": "Invalid Signature"})


@pytest.mark.parametrize("secret", [READMES_KEY + "\n", (READMES_KEY + "\n").encode(),
                                    bytearray(b" " + READMES_KEY.encode() + b"\r\n")],
                         ids=["str", "bytes", "bytearray"])
def test_a_secret_with_blanks_verifies_either_signature(secret: Any) -> None:
    # ReadMe signs with the key itself; a secret signed as given (blanks in it) verifies
    # too, as it always did.
    assert VerifyWebhook(PAYLOAD, _signed(PAYLOAD, READMES_KEY.encode()), secret) == PAYLOAD
    as_given = bytes(secret) if not isinstance(secret, str) else secret.encode()
    assert VerifyWebhook(PAYLOAD, _signed(PAYLOAD, as_given), secret) == PAYLOAD
    with pytest.raises(VerificationError, match="Invalid Signature"):
        VerifyWebhook(PAYLOAD, _signed(PAYLOAD, READMES_KEY[:-1].encode()), secret)


@pytest.mark.parametrize("secret", [" ", "\n", b"\r\n"], ids=["blank", "newline", "crlf"])
def test_a_blank_secret_is_still_refused_before_any_signature(secret: Any) -> None:
    # A blank secret was a key anyone could sign with ("" stripped is no key): refused,
    # as the empty one is.
    with pytest.raises(ValueError, match="secret"):
        VerifyWebhook(PAYLOAD, _signed(PAYLOAD, b""), secret)


# -- 4. NO_PROXY in the .env file ------------------------------------------------------------

_APP = textwrap.dedent("""\
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from werkzeug.test import Client


    def hello_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]


    app = MetricsMiddleware(hello_app, MetricsApiConfig(
        grouping_function=lambda request: {"api_key": "owlbert-key"}, flush_interval=0.2))
    Client(app).get("/", buffered=True)
    print("delivered:", app.flush(3))
    """)
_PROXIES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
            "ALL_PROXY", "no_proxy", "NO_PROXY")
_NOT_APPLIED = "sets NO_PROXY, which is not applied"


def _run_app(folder: Path, **variables: str) -> tuple[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_") and name not in _PROXIES}
    env.update(PYTHONPATH=str(REPO_ROOT), http_proxy=f"http://127.0.0.1:{free_port()}",
               README_SHUTDOWN_TIMEOUT="1", **variables)
    done = run_command([sys.executable, "app.py"], capture_output=True, text=True,
                       cwd=str(folder), env=env, timeout=120)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout, done.stderr


def test_no_proxy_in_the_dotenv_file_is_said_not_applied_and_the_export_works(
        tmp_path: Path, collector: Collector) -> None:
    (tmp_path / "app.py").write_text(_APP)
    (tmp_path / ".env").write_text(
        f"README_METRICS_SERVER={collector.url}\nREADME_API_KEY=any-key\n"
        "NO_PROXY=127.0.0.1,localhost\n")
    out, err = _run_app(tmp_path)
    # The POSTs went to the dead proxy, as they did before: now the start-up says why.
    assert "delivered: False" in out, (out, err)
    assert f"{tmp_path / '.env'} {_NOT_APPLIED}" in err, err
    assert "export NO_PROXY=... in the app's shell" in err, err
    assert collector.received == []
    # The fix it gives: the same variable exported brings the log, and nothing is said.
    out, err = _run_app(tmp_path, NO_PROXY="127.0.0.1,localhost")
    assert "delivered: True" in out, (out, err)
    assert _NOT_APPLIED not in err, err
    assert len(collector.wait_for_logs(1)) == 1


def test_a_dotenv_without_proxy_variables_says_nothing_of_them(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("README_API_KEY=any-key\nDATABASE_URL=sqlite://\n")
    monkeypatch.chdir(tmp_path)
    MetricsApiConfig(grouping_function=lambda request: None)
    assert "not applied" not in _everything(caplog)


def test_collects_proxy_warning_says_a_dotenv_cannot_set_it(tmp_path: Path) -> None:
    env = {name: "" for name in _PROXIES}
    env["http_proxy"] = f"http://127.0.0.1:{free_port()}"
    with CommandProcess("collect", "--port", "0", cwd=tmp_path, env=env) as proc:
        line = proc.wait_for(r"WARNING: this shell sets a proxy .*").group(0)
    assert "a .env file cannot set it" in line, line


# -- 5. the caller's own record returned whole ---------------------------------------------------


def _records() -> list[Any]:
    import dataclasses
    from collections import namedtuple

    pydantic = pytest.importorskip("pydantic")

    @dataclasses.dataclass
    class Caller:
        api_key: str
        label: str

    class User(pydantic.BaseModel):
        api_key: str
        email: str

    Row = namedtuple("Row", ["id", "label"])  # noqa: PYI024 - a database row's shape
    return [Caller("owlbert-key", "Owlbert"), User(api_key="owlbert-key", email="o@x.io"),
            Row("owlbert-key", "Owlbert")]


@pytest.mark.parametrize(("index", "hint"), [
    (0, "dataclasses.asdict(it)"),
    (1, '.model_dump(include={"api_key", "label", "email"})'),
    (2, "._asdict()"),
], ids=["dataclass", "pydantic", "namedtuple"])
def test_a_record_returned_whole_has_a_hint_to_make_it_a_mapping(
        index: int, hint: str, collector: Collector,
        caplog: pytest.LogCaptureFixture) -> None:
    record = _records()[index]

    async def grouping(request: Any) -> Any:
        return record  # a FastAPI dependency's user, set on request.state, returned whole

    async def hello(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = AsgiMetricsMiddleware(hello, MetricsApiConfig(
        api_key=READMES_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=1))
    asyncio.run(run(app, http_scope()))
    app.close()
    [error] = [r for r in caplog.records if "must return a mapping" in r.getMessage()]
    message = error.getMessage()
    assert hint in message and "not logged" in message, message
    assert "owlbert-key" not in _everything(caplog)
    assert collector.received == []


def test_an_object_without_a_key_field_gets_no_such_hint(
        caplog: pytest.LogCaptureFixture) -> None:
    from readme_metrics.grouping_words import not_a_mapping

    class Refuses(type):
        def __getattr__(cls, name: str) -> Any:
            raise RuntimeError("no")

    class Odd(metaclass=Refuses):
        pass

    for result in (object(), Odd(), ("owlbert-key", "Owlbert")):
        message = not_a_mapping(result)
        assert "asdict" not in message and "model_dump" not in message, message
