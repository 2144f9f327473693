"""A YAML body's flow collections and aliases (review129's read of hostile36's
:mod:`readme_metrics.har.yaml_flow`): a denied key whose value is an alias of an anchor
put in a flow collection or on a sequence's item, a denied key's value an alias in a
flow collection, a key an alias of an anchored name in one, a verbatim tag. Each body
is read by PyYAML as the app would; what is sent must parse and hold no secret."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.support.denied_bodies import SECRET, records
from tests.support.fake_api import Collector

LEAKS = [
    # A denied key's value an alias in a flow collection: its anchor's value was sent.
    f"x: &p {SECRET}\ny: {{password: *p}}\n",
    f"{{x: &p {SECRET}, password: *p}}\n",
    f"x: [&p {SECRET}]\ny: {{password: *p}}\n",
    # The anchor in a flow collection or on a sequence's item, the alias a block value.
    f"x: [&p {SECRET}]\npassword: *p\n",
    f"x:\n  - &p {SECRET}\npassword: *p\n",
    f"x:\n- &p\n  - {SECRET}\nsecret: *p\n",
    f"x:\n  - &p\n    a: {SECRET}\n  - 1\ntoken: *p\nb: 2\n",
    f"x: {{a: &p {SECRET}}}\npassword: *p\n",
    # An alias nested in a denied key's value; an anchor after a tag.
    f"x: &p {SECRET}\npassword: [*p, 1]\n",
    f"x: &p {SECRET}\npassword: {{a: *p}}\n",
    f"x: &p {SECRET}\ny: {{password: [1, *p]}}\n",
    f"x: !!seq &p [{SECRET}]\npassword: *p\n",
    f"x: {{a: !!seq &p [{SECRET}]}}\npassword: *p\n",
    # A key that is an alias of an anchored denied name, in a flow collection.
    f"k: &k password\nm: {{*k : {SECRET}}}\n",
    # A verbatim tag (its "," is no member's end).
    f"{{!<tag:yaml.org,2002:str> password: {SECRET}}}\n",
    f"{{a: 1, !<tag:yaml.org,2002:str> \"password\": {SECRET}}}\n",
]


def _load(text: str) -> Any:
    return list(yaml.safe_load_all(text))


@pytest.mark.parametrize("body", LEAKS)
def test_hidden_and_still_yaml(body: str) -> None:
    assert SECRET in repr(_load(body))  # (the app reads the secret)
    for record in records(body.encode(), "application/yaml"):
        text = record["text"]
        assert SECRET not in text, text
        assert SECRET not in repr(_load(text)), text


@pytest.mark.parametrize("body", [
    "x: &p 1\ny: {a: *p}\n",
    "x: [&p 1, 2]\nz: *p\n",
    "{!<tag:yaml.org,2002:str> a: 1}\n",
])
def test_kept_as_written(body: str) -> None:
    for record in records(body.encode(), "application/yaml"):
        assert record["text"] == body


def test_a_flask_app_reading_yaml_sends_the_anchored_password_hidden(
        collector: Collector) -> None:
    """A Flask app that reads its body with ``yaml.safe_load`` (the password through the
    alias) and answers in JSON; the real collector on 127.0.0.1 gets the log."""
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    @app.route("/login", methods=["POST"])
    def login() -> Any:
        document = yaml.safe_load(request.get_data())
        return {"user": document["user"]["name"],
                "length": len(document["user"]["password"])}

    body = f"x-db: [&pw {SECRET}]\nuser: {{name: zoe, password: *pw}}\n"
    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-key"},
        denylist=["password"]), app)
    try:
        answer = app.test_client().post("/login", data=body,
                                        headers={"Content-Type": "application/yaml"})
        assert answer.get_json() == {"user": "zoe", "length": len(SECRET)}
        assert extension.flush(10) is True
        [log] = collector.wait_for_logs(1)
    finally:
        extension.close()
    [entry] = log["request"]["log"]["entries"]
    sent = entry["request"]["postData"]["text"]
    assert SECRET not in json.dumps(log)
    assert yaml.safe_load(sent)["user"]["name"] == "zoe"  # (still YAML, the rest kept)


def test_canonical_dump_of_a_shared_value_under_a_denied_key() -> None:
    """PyYAML's canonical=True writes a value shared by a denied key as an alias in JSON's
    shape (``? !!str "api_key"`` then ``: *id001``): the JSON members' reading hid the
    alias, the anchored list went out in clear (review129's fuzz: 317 of 600 dumps)."""
    shared = [SECRET]
    body = yaml.dump({"x": [shared], "d": 1, "api_key": shared}, canonical=True,
                     sort_keys=False)
    assert "*id001" in body
    for record in records(body.encode(), "application/yaml"):
        assert SECRET not in record["text"], record["text"]
        assert yaml.safe_load(record["text"])["d"] == 1


@pytest.mark.parametrize("body", [
    "{<\npassword: " + SECRET + "\n}",
    "{a\npassword: " + SECRET + "\n}",
    "x: {<\r\npassword: " + SECRET + "\r\n}\n",
])
def test_a_plain_key_over_lines_in_a_flow_is_not_read_as_one_key(body: str) -> None:
    """hostile26's planted shape after hostile36 (a YAML flow read member by member):
    ``{<`` then ``password: s`` then ``}`` was read as one member of key "< password",
    no denied key, and sent (no YAML for PyYAML, but a line a reader of lines takes as
    ``password``: hostile26's test of planted shapes drew it). A plain key over lines
    naming a denied key in any line is no flow read soundly: read as lines."""
    for record in records(body.encode(), "application/yaml"):
        assert SECRET not in record["text"], record["text"]
