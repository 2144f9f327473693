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
from functools import partial
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
    member = f'"password":"[REDACTED {len(S)}]"}}'
    expected = "{" + member if "[" not in value[:4] else '[{"a":1,' + member + "]"
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


YAML = "application/yaml"

#: Alias chains through a flow collection's anchored node: PyYAML reads S under the
#: denied key; main sent it (the node was hidden, the aliases in it not followed).
_FLOW_CHAINS = [
    pytest.param(f"x: &a {S}\ny: {{k: &b [*a]}}\npassword: *b\n", id="flow-mapping"),
    pytest.param(f"x: &a {S}\ny: [&b [*a]]\npassword: *b\n", id="flow-sequence"),
    pytest.param(f"x: &a {S}\ny: &b [*a]\nz: {{k: &c [*b]}}\npassword: *c\n",
                 id="block-then-flow"),
    pytest.param(f"x: &a {S}\ny: {{k: &b {{m: *a}}}}\nz: &c [*b]\ntoken: [*c]\n",
                 id="flow-then-block"),
    pytest.param(f"x: &a {S}\ny: {{k: &b [{{n: &c [*a]}}]}}\npassword: *c\n",
                 id="inner-anchor"),
]


def _load(text: str) -> Any:
    yaml = pytest.importorskip("yaml")
    return list(yaml.safe_load_all(text))


@pytest.mark.parametrize("body", _FLOW_CHAINS)
def test_an_alias_chain_through_a_flow_node_sends_no_denied_value(body: str) -> None:
    from tests.support.denied_bodies import records

    assert S in repr(_load(body))
    for record in records(body.encode(), YAML):
        text = record["text"]
        assert S not in text, text
        assert S not in repr(_load(text)), text


def _chain(links: int, key: str = "password") -> str:
    """``a0: &a0 S``, then ``a1: &a1 [*a0]`` ... and ``key: *a<links>``."""
    return f"a0: &a0 {S}\n" + "".join(f"a{n}: &a{n} [*a{n - 1}]\n"
                                      for n in range(1, links + 1)) + f"{key}: *a{links}\n"


def test_a_long_chain_hides_its_links_and_no_other_anchor() -> None:
    """Every link is hidden, and an anchor no denied value reaches is kept (main hid every
    anchor of the text after 4 links)."""
    from readme_metrics.har.redaction_yaml import yaml_redacted

    body = "q: &q public\nr: *q\n" + _chain(6)
    sent = yaml_redacted(body, Redactor(["password"]))
    loaded = _load(sent)[0]
    assert S not in sent
    assert loaded["q"] == loaded["r"] == "public", sent
    assert all(loaded[f"a{n}"].startswith("[REDACTED") for n in range(7)), sent


def test_a_long_chain_costs_two_passes_and_grows_linearly() -> None:
    """Python calls counted (no time): 1,200 links cost under 3 times the same text with
    no denied key (main: 5 to 6 times, a pass a link, every anchor after 4), and 4 times
    the links about 4 times the calls."""
    from readme_metrics.har.redaction_yaml import yaml_redacted
    from tests.support.work_count import calls

    deny = Redactor(["password"])
    short, long, plain = _chain(300), _chain(1200), _chain(1200, "public")
    work = [calls(partial(yaml_redacted, text, deny)) for text in (short, long, plain)]
    assert S not in yaml_redacted(long, deny)
    assert work[1] < 3 * work[2], work
    assert work[1] < 4.6 * work[0], work
