"""review12's findings: each test failed on main at 7d9cc46 and passes with its fix."""

from __future__ import annotations

from typing import Any

import pytest

from readme_metrics.masking import mask
from tests.support.contract import exchange
from tests.support.fake_api import Collector, Reply, basic_auth
from tests.support.polling import wait_until
from tests.test_docs_url import Records, make_config, records  # noqa: F401 - a fixture


def test_docs_lookup_redirect_check_reads_the_location_as_requests_does(
        collector: Collector, records: Records) -> None:  # noqa: F811
    """docs_url._redirect_refused read the redirect target with urllib.parse, requests
    connects where urllib3 reads it: ``http://localhost:<b>\\@127.0.0.1:<a>/v1`` is
    127.0.0.1:<a> to urlsplit (all before the "@" is userinfo) and localhost:<b> to
    urllib3 (a backslash ends the authority), so the lookup sent the API key to the
    other host, which the same-host rule (def4b0c) is there to prevent."""
    from readme_metrics.docs_url import DocsUrl

    elsewhere = Collector().start()
    try:
        elsewhere.get_v1 = lambda received: Reply(200, b'{"baseUrl": "https://x.test/"}')
        target = f"http://localhost:{elsewhere.port}\\@127.0.0.1:{collector.port}/v1"
        collector.get_v1 = lambda received: Reply(302, headers={"Location": target})
        config = make_config(collector.url, records)
        docs = DocsUrl(config)
        docs.base()
        wait_until(lambda: bool(records.records or elsewhere.gets), timeout=10.0)
        sent = [g.headers.get("Authorization") for g in elsewhere.gets]
    finally:
        elsewhere.stop()
    assert basic_auth(config.api_key) not in sent, "the API key went to another host"
    assert elsewhere.gets == [] and docs.base() is None
    assert "redirected to another host (http://localhost)" in records.text()
    assert config.api_key not in records.text()


# -- the caller's key in a body declared in a charset whose ASCII is no ASCII ------------

CALLER_KEY = "owlbert-caller-key-7731"


def _spells(log: dict[str, Any], secret: str) -> list[str]:
    """The strings of ``log`` that hold ``secret`` as is, or its bytes in UTF-8 read in a
    codec where ASCII is no ASCII (what a UTF-16 or EBCDIC reading of UTF-8 makes)."""
    needle = secret.encode()
    hits = []
    for text in _strings(log):
        views = [text.encode(codec, "ignore") for codec in
                 ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "cp500")]
        if any(needle in view for view in views):
            hits.append(text[:80])
    return hits


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in [key, *_strings(value)]]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def _whole_units(text: str) -> str:
    """``text`` padded to a multiple of 4 bytes in UTF-8: read as UTF-16 or UTF-32 it
    decodes (an odd length would fail and fall back to UTF-8, hiding the reading)."""
    return text + "." * (-len(text.encode()) % 4)


def _flask_reader(seen: dict[str, str]) -> Any:
    from flask import Flask, request

    app = Flask(__name__)

    @app.route("/p", methods=["POST"])
    def read() -> str:
        seen.update(request.form.items())
        seen["body"] = request.get_data(as_text=True)
        return "ok"

    return app.wsgi_app


@pytest.mark.parametrize("charset", ["utf-16", "utf-16-be", "cp500", "utf-32"])
def test_a_multipart_field_declared_utf_16_is_read_as_flask_reads_it(
        inline_wrap: Any, collector: Collector, charset: str) -> None:
    """A field part declaring ``charset=utf-16`` (or EBCDIC) over UTF-8 bytes: werkzeug
    (Flask), Django and Starlette read form fields in UTF-8 (the request's charset), not
    in the part's, so the app read the caller's key in clear; the log read the part in
    the declared charset, CJK (or EBCDIC) text that spells the key's bytes, so the key
    was not masked and can be read back (``text.encode('utf-16-le')``)."""
    note = _whole_units(f"my key is {CALLER_KEY}, caf\u00e9")
    body = ("--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n"
            f"Content-Type: text/plain; charset={charset}\r\n\r\n").encode() + (
        note.encode() + b"\r\n--XyZ--\r\n")
    seen: dict[str, str] = {}
    middleware = inline_wrap(_flask_reader(seen),
                             grouping_function=lambda request: {"api_key": CALLER_KEY})
    _, log, entry = exchange(middleware, collector, method="POST", path="/p", body=body,
                             headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert seen["note"] == note  # what Flask read
    assert _spells(log, CALLER_KEY) == []
    (param,) = entry["request"]["postData"]["params"]
    assert param == {"name": "note", "value": note.replace(CALLER_KEY, mask(CALLER_KEY))}


@pytest.mark.parametrize("charset", ["utf-16", "cp500"])
@pytest.mark.parametrize("essence", ["text/plain", "application/xml"])
def test_a_text_body_declared_utf_16_is_read_by_its_bytes(
        inline_wrap: Any, collector: Collector, essence: str, charset: str) -> None:
    """e10321a's rule for JSON, for every text body: a UTF-8 body declared in a charset
    where ASCII is no ASCII was logged as CJK (EBCDIC) text spelling its bytes, the
    caller's key among them; Flask's get_data(as_text=True) reads it as UTF-8."""
    text = _whole_units(f"<note>my key is {CALLER_KEY}, caf\u00e9</note>")
    seen: dict[str, str] = {}
    middleware = inline_wrap(_flask_reader(seen),
                             grouping_function=lambda request: {"api_key": CALLER_KEY})
    _, log, entry = exchange(middleware, collector, method="POST", path="/p",
                             body=text.encode(),
                             headers={"Content-Type": f"{essence}; charset={charset}"})
    assert seen["body"] == text
    assert _spells(log, CALLER_KEY) == []
    assert entry["request"]["postData"]["text"] == text.replace(CALLER_KEY, mask(CALLER_KEY))
