"""hostile43: smaller redaction holes, and a slow YAML case.

A header value with blanks before its JSON (``X-Data:  {"password": ...}``, or an
obs-folded one, which werkzeug hands on with its fold's blanks) was not read as JSON: its
denied members went out. A YAML alias chain through a flow collection's anchored node
(``y: {k: &b [*a]}`` then ``password: *b``) sent ``a``'s value, and a chain of 40,000
links took six passes over the text (17-18 s for a MiB on a loaded machine): the anchors
a denied value reaches are found in one walk over the graph of the anchors' aliases.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from readme_metrics.redaction import Redactor
from tests.support.denied_bodies import SECRET
from tests.support.exchanges import entry_of, make_exchange
from tests.support.fake_api import Collector
from tests.support.raw_requests import answer_to
from tests.support.wsgi_servers import served

S = SECRET


@pytest.mark.parametrize("value", [
    pytest.param(f'  {{"password": "{S}"}}', id="two-spaces"),
    pytest.param(f'\t{{"password": "{S}"}}', id="tab"),
    pytest.param(f' \t [{{"a": 1, "password": "{S}"}}]', id="blanks-array"),
    pytest.param(f'\r\n {{"password": "{S}"}}', id="obs-fold-kept"),
])
@pytest.mark.parametrize("name", ["X-Data", "Accept"])  # (a plain header too)
def test_blanks_before_a_header_s_json_hide_its_denied_members(name: str, value: str
                                                                ) -> None:
    entry = entry_of(make_exchange(request_headers=[("Host", "h"), (name, value)],
                                   response_headers=[(name, value)]),
                     redactor=Redactor(["password"]))
    sent = [h["value"] for h in entry["request"]["headers"] + entry["response"]["headers"]
            if h["name"] == name]
    member = '{"password":"[REDACTED %d]"}' % len(S)
    expected = member if "[" not in value[:4] else '[{"a":1,%s]' % member[1:]
    assert sent == [expected, expected]


def test_blanks_before_a_header_s_other_text_keep_it() -> None:
    value = "  [token refresh failed]"
    entry = entry_of(make_exchange(request_headers=[("Host", "h"), ("X-Data", value)]),
                     redactor=Redactor(["token"]))
    assert entry["request"]["headers"][1] == {"name": "X-Data", "value": value}


def test_an_obs_folded_json_header_under_werkzeug_is_redacted(collector: Collector) -> None:
    """End to end: werkzeug hands ``X-Data:`` then a folded ``  {...}`` on as
    ``'  {...}'``; a Flask app reads it, the collector gets the log."""
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return {"data": request.headers.get("X-Data")}

    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-key-123456"},
        denylist=["password"]), app)
    try:
        with served("werkzeug", app) as port:
            answer = answer_to(port, b"GET / HTTP/1.1\r\nHost: h\r\nX-Data:\r\n  "
                               b'{"password": "' + S.encode() + b'"}\r\n'
                               b"Connection: close\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert json.loads(body) == {"data": f'  {{"password": "{S}"}}'}  # (as handed on)
        assert extension.flush(30) is True
        [log] = collector.wait_for_logs(1)
    finally:
        extension.close()
    headers = log["request"]["log"]["entries"][0]["request"]["headers"]
    assert {"name": "X-Data", "value": '{"password":"[REDACTED 10]"}'} in headers, headers
    assert S not in json.dumps(headers)
