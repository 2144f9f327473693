"""README's "Quick start: other frameworks": the Bottle, Pyramid, Falcon (WSGI and ASGI)
and Starlette examples, served as their docstrings say by the servers they name
(waitress, gunicorn, uvicorn), identify the caller the framework's way and log what the
client sent and got.

Each example authenticates with ``Authorization: Bearer <key>`` and keeps the caller
where that framework keeps it (``bottle.request``, Pyramid's environ, Falcon's
``req.env`` and ``req.scope``, Starlette's ``request.user``); its grouping function reads
it from there, so a call is logged only if that works. Against a real collector: a
query, a JSON body and a 404, each with its status, URL, bodies, the caller's key only
masked and the ``x-documentation-url`` of its own log; a call without the header is not
logged and gets no such header.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.test_readme import FRAMEWORK_EXAMPLES, _one_log, example_served, readme_sections

pytestmark = pytest.mark.e2e

DOCS = "https://docs.example.com"
#: The examples, under the servers their docstrings name (Falcon's ASGI app in prose).
CASES = [pytest.param(name, None, id=name.split("/")[0]) for name in FRAMEWORK_EXAMPLES] + [
    pytest.param("falcon/app.py", "uvicorn app:asgi_app --port 8000", id="falcon-asgi")]


def _entry(log: dict[str, Any]) -> dict[str, Any]:
    (entry,) = log["request"]["log"]["entries"]
    return entry


@pytest.mark.parametrize(("name", "run"), CASES)
def test_framework_example_logs_its_callers_calls(name: str, run: Any, tmp_path: Path,
                                                  collector: Collector) -> None:
    if run:  # the docstring names this other way to run the same example
        assert f"``{run}``" in (Path(__file__).parents[1] / "examples" / name).read_text()
    with example_served(name, tmp_path, collector.url, run,
                        README_BASE_LOG_URL=DOCS) as (url, header, value, log):
        assert (header, value) == ("Authorization", "Bearer owlbert-key")
        pets = url.split("?")[0]
        # First, so that its log, were there one, would come before the others'.
        anonymous = requests.get(f"{pets}?anonymous=1", timeout=10)
        calls = [("GET", f"{pets}?name=Owlbert", None),
                 ("POST", pets, {"name": "Ruby"}),
                 ("GET", pets.replace("/pets", "/missing"), None)]
        answers = [requests.request(method, target, json=body, timeout=10,
                                    headers={header: value})
                   for method, target, body in calls]
        logs = _one_log(collector, log, len(calls))
    assert anonymous.status_code == 200 and "x-documentation-url" not in anonymous.headers
    assert [answer.status_code for answer in answers] == [200, 201, 404], [
        answer.text for answer in answers]
    assert answers[0].json() == {"pets": [{"id": 1, "name": "Owlbert"}]}
    assert answers[1].json()["name"] == "Ruby"
    assert len(logs) == len(calls), [_entry(log_)["request"]["url"] for log_ in logs]
    by_url = {(_entry(log_)["request"]["method"], _entry(log_)["request"]["url"]): log_
              for log_ in logs}
    for (method, target, body), answer in zip(calls, answers):
        log_ = by_url[method, target]
        assert_valid_log(log_)
        entry = _entry(log_)
        assert entry["response"]["status"] == answer.status_code
        assert entry["response"]["content"]["text"] == answer.text
        if body is not None:
            assert json.loads(entry["request"]["postData"]["text"]) == body
        # The grouping function found the caller where the framework keeps it.
        assert log_["group"]["label"] == "key ending -key"
        assert log_["group"]["id"].startswith("sha512-")
        assert "owlbert-key" not in json.dumps(log_)
        assert answer.headers["x-documentation-url"] == f"{DOCS}/logs/{log_['_id']}"
    query = _entry(by_url["GET", f"{pets}?name=Owlbert"])["request"]["queryString"]
    assert query == [{"name": "name", "value": "Owlbert"}]


def test_the_readme_section_names_each_example() -> None:
    section = readme_sections()["Quick start: Bottle, Pyramid, Falcon, Starlette and others"]
    named = re.findall(r"`examples/(\w+/app\.py)`", section)
    assert sorted(named) == sorted(FRAMEWORK_EXAMPLES), named


def test_what_is_sent_quotes_the_comment_of_a_file_the_server_sent() -> None:
    """Bottle's static_file, Pyramid's FileResponse, a file as Falcon's resp.stream: the
    log has no body, and README quotes the comment that says why."""
    from readme_metrics.har.bodies import _OMITTED_COMMENT

    section = readme_sections()["What is sent, and how to keep secrets out"]
    assert f"`{_OMITTED_COMMENT}`" in " ".join(section.split())
