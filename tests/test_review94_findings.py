"""review94's findings (an adversarial read of hostile19's server-sent events, folded
Set-Cookie, undeclared forms and text, and kept SCRIPT_NAME escapes).

1. An event whose data is a JSON string holding a document or a form (JSON encoded
   twice: ``data: "{\\"password\\": ...}"``, what ``JSON.stringify`` of an already
   encoded document sends) went out in clear: the event stream's reading tried a line
   as JSON only when it started with ``{`` or ``[``, where a JSON body of the same text
   is redacted (its string read as a document, SPEC 6). Such a line is now read as a
   JSON body's text is. Failed on main at 0cf8b5d (the value in clear).
2. A Cookie header naming a denied key (or any, under an allowlist) was read by a pattern
   tried at every character: a run holding no "=" was scanned again from each, quadratic.
   An 8 KB Cookie ``password`` + "a" * 8000 (gunicorn takes header lines that long,
   waitress header sections up to 256 KiB) cost 0.78 s of the worker under the GIL, 16 KB
   5.5 s; any client could send it on every request. The pattern now starts only at the
   value's start or a separator: 0.34 ms and 15 ms for 256 KiB, the same output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from readme_metrics.har import headers as har_headers
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import body_on, entry_of
from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.support.processes import run_command
from tests.support.review94_apps import EVENTS
from tests.support.review94_apps import SECRET as SERVED_SECRET
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import serve, server_env
from tests.test_hostile19_findings import _posted as posted_logs

SECRET = "r94-s3cr3t-Wq7"
ROOT = Path(__file__).resolve().parent.parent
DENY = Redactor(denylist=["password"])


def _content(content_type: str, text: str) -> dict[str, Any]:
    content: dict[str, Any] = entry_of(
        body_on("response", [("Content-Type", content_type)], text.encode()),
        redactor=DENY)["response"]["content"]
    return content


# A JSON string holding a document, a form, a document holding a form.
TWICE = [f'"{{\\"password\\": \\"{SECRET}\\"}}"', f'"user=zoe&password={SECRET}"',
         f'"{{\\"a\\": [{{\\"Password\\": \\"{SECRET}\\"}}]}}"']


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("data", TWICE, ids=["document", "form", "nested"])
def test_an_events_data_encoded_twice_is_redacted_as_a_json_body_is(data: str,
                                                                     end: str) -> None:
    body = _content("application/json", data)["text"]
    assert SECRET not in body  # (what a JSON body of the same text gives)
    stream = f"event: a{end}data: {data}{end}{end}data:{data}{end}{end}"
    content = _content("text/event-stream", stream)
    assert SECRET[:6] not in content["text"] and SECRET[-4:] not in content["text"]
    assert content["text"] == (f"event: a{end}data: {body}{end}{end}data:{body}{end}{end}")
    assert "comment" not in content


def test_an_events_json_string_naming_no_denied_key_is_as_received() -> None:
    stream = 'data: "hello"\n\ndata: "{\\"a\\": 1}"\n\ndata: "x" and password\n\n'
    assert _content("text/event-stream", stream)["text"] == stream


def test_a_json_string_line_of_data_over_several_lines_stays_hidden() -> None:
    """A lone JSON string is a value of the document the other lines spell: hidden whole
    as before, not read as a document of its own."""
    stream = f'data: x\ndata: {{"password":\ndata: "{SECRET}"\ndata: }}\n\n'
    content = _content("text/event-stream", stream)
    assert SECRET[:6] not in content["text"] and SECRET[-4:] not in content["text"]
    assert "could not be parsed" in content["comment"]


@given(st.lists(st.sampled_from([
    f"data: {TWICE[0]}", f"data: {TWICE[1]}", f"data:{TWICE[2]}",
    f'data: {{"password":\ndata: "{SECRET}"', 'data: {"a":', "data: }", "data: x",
    'data: "a"', ": c", "event: e", ""]), max_size=8),
       st.sampled_from(["\n", "\r\n", "\r"]))
def test_no_json_string_in_an_event_lets_a_denied_value_out(lines: list[str],
                                                            end: str) -> None:
    """JSON strings among an event's data lines, a document split over them, cut short:
    the denied value never shows."""
    text = _content("text/event-stream",
                    end.join(line.replace("\n", end) for line in lines))["text"]
    assert SECRET[:6] not in text


STREAMING = {**{name: (WSGI_SERVERS[name], "tests.support.review94_apps:app")
                for name in ("waitress", "gunicorn-sync")},
             **{name: (ASGI_SERVERS[name], "tests.support.review94_apps:asgi_app")
                for name in ("uvicorn", "hypercorn")}}


@pytest.mark.e2e
@pytest.mark.parametrize("server", list(STREAMING))
def test_events_encoded_twice_under_a_server_show_no_denied_value(
        server: str, collector: Collector, tmp_path: Path) -> None:
    """Streamed by a real server with CRLF line ends: the client's stream untouched, the
    posted log holding none of the value (failed on main for each server)."""
    argv, target = STREAMING[server]
    port = free_port()
    env = server_env(collector, README_DENYLIST="password")
    with serve(argv(port, target), env, tmp_path, port) as url:
        answer = requests.get(f"{url}/events", timeout=30)
        logs = collector.wait_for_logs(1)
    assert answer.text == "".join(EVENTS)
    assert_valid_log(logs[0])
    posted = posted_logs(collector)
    assert SERVED_SECRET[:6].encode() not in posted
    assert SERVED_SECRET[-4:].encode() not in posted
    assert b"[DONE]" in posted and b"REDACTED 14" in posted


# -- 2. A long Cookie header read in quadratic time ----------------------------------

#: The pattern before review94, tried at every character (the reference for the output).
EVERYWHERE = re.compile(r"()([^;,=]*)=([^;,]*)")


@given(st.lists(st.sampled_from(["password", "pw", "=", ";", ",", " ", "a", "b=", '"', "x"]),
                max_size=14))
def test_a_cookie_value_is_redacted_as_before(pieces: list[str]) -> None:
    value = "".join(pieces)
    denies = Redactor(denylist=["password", "pw"]).denies
    assert (har_headers.cookies_redacted(value, denies)
            == har_headers.cookies_redacted(value, denies, EVERYWHERE))


#: A child reading a Cookie header of 256 KiB (waitress takes header sections that
#: long) with no "=" after a denied name, then a denied cookie, as the middleware does.
LONG_COOKIE = f"""
import json
from readme_metrics.har.headers import headers
from readme_metrics.har.redaction import Redactor
cookie = "password" + "a" * (256 * 1024) + "; password={SECRET}"
print(json.dumps(headers([("Cookie", cookie)], Redactor(denylist=["password"]))[0])[-60:])
"""


def test_a_long_cookie_naming_a_denied_key_is_read_in_one_pass() -> None:
    """Linear, it takes milliseconds; on main the pattern scanned the run again from each
    character (16 KB took 5.5 s, so this some 25 minutes, holding the GIL: in a child,
    so that a regression fails at the bound, 120 s, instead of hanging the suite)."""
    try:
        child = run_command([sys.executable, "-c", LONG_COOKIE], capture_output=True,
                            text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        pytest.fail("the Cookie header was still being read after 120 s")
    assert child.returncode == 0, child.stderr
    assert SECRET not in child.stdout and child.stdout.rstrip().endswith('"}]')
