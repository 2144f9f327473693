"""hostile42: a ``.env``'s lines held in a JSON string or a YAML scalar went out readable.

A text/plain ``.env`` had its denied values hidden (each line's pairs read as a form's),
but the same text as a JSON string (``{"env": "USER=ada\\nPASSWORD=..."}``: a ConfigMap
dumped as JSON, a CI config) was read as one form whose first name, ``USER``, held the
rest, and a YAML scalar (a Kubernetes Secret's ``.env: |``, a compose file's
``- PASSWORD=...``, PyYAML's quoted dump of a string over lines) was not read at all.
Both now go through text/plain's reading (``har/env_lines.py``; ``har/yaml_env.py`` for
YAML's scalars), the JSON staying JSON with the string's other lines kept, the YAML
loading as it did. ``export PASSWORD=...``, a quoted value holding ``&`` and a quoted
value over lines (python-dotenv's) were sent in text/plain too, and are hidden there.
Prose naming the key before a ``=`` (``the password= field``) names another pair and is
kept, as text/plain's is.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har.bodies import post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_marks import MARKS
from tests.support.fake_api import Collector
from tests.support.flask_echo import body_texts, logged_echo
from tests.support.leaks import _values as _strings  # (every string in a document)
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.work_count import text_work

DENY = Redactor(["password", "private_key"])
ENV = f"# the app's settings\nUSER=ada\nPASSWORD={SECRET}\nHOST=db\n"
JSON, YAML = "application/json", "application/yaml"


def _check(body: str, mime: str, load: Callable[[str], Any], kept: tuple[str, ...]) -> None:
    """The request's and the response's body as logged: no secret, still a document
    ``load`` reads, with the strings ``kept`` still in it."""
    for text in bodies_logged(body.encode(), mime, DENY):
        assert SECRET not in text, text
        assert "REDACTED" in text, text
        strings = "\n".join(_strings(load(text)))
        for other in kept:
            assert other in strings, (other, text)


# 1. A .env in a JSON string ----------------------------------------------------------

JSON_LEAKS = {
    "member": json.dumps({"env": ENV}),
    "crlf": json.dumps({"env": ENV.replace("\n", "\r\n")}),
    "lone-cr": json.dumps({"env": ENV.replace("\n", "\r")}),
    "export": json.dumps({"env": ENV.replace("PASSWORD", "export PASSWORD")}),
    "spaced": json.dumps({"env": ENV.replace("PASSWORD=", "  PASSWORD = ")}),
    "quoted-amp": json.dumps({"env": ENV.replace(f"={SECRET}", f"='a&{SECRET}'")}),
    "dquoted-semicolon": json.dumps({"env": ENV.replace(f"={SECRET}", f'="a;{SECRET}"')}),
    "escaped-name": json.dumps({"env": ENV}).replace("PASSWORD", "\\u0050ASSWORD"),
    "escaped-equals": json.dumps({"env": ENV}).replace("PASSWORD=", "PASSWORD\\u003d"),
    "array": json.dumps({"data": [ENV, "x"]}),
    "whole-body": json.dumps(ENV),
    "first-line": json.dumps({"env": f"PASSWORD={SECRET}\nUSER=ada\nHOST=db"}),
    "json-in-json": json.dumps({"config": json.dumps({"env": ENV})}),
    "configmap": json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                             "data": {".env": ENV, "mode": "prod"}}),
    "quoted-over-lines": json.dumps(
        {"env": f'USER=ada\nPRIVATE_KEY="-----BEGIN KEY-----\n{SECRET}\n-----END KEY-----"'
                "\nHOST=db\n"}),
}


@pytest.mark.parametrize("case", JSON_LEAKS)
def test_a_dot_env_in_a_json_string_is_hidden_the_json_kept(case: str) -> None:
    def load(text: str) -> Any:
        document = json.loads(text)
        # (A document in a string of it read too.)
        return json.loads(document["config"]) if case == "json-in-json" else document

    _check(JSON_LEAKS[case], JSON, load, ("USER=ada", "HOST=db"))


def test_a_json_string_of_a_form_is_read_as_before() -> None:
    """A string that is a query string (no line break) is read as a form, as it was."""
    [text, _] = bodies_logged(json.dumps({"q": f"a=1&password={SECRET}&b=2"}).encode(), JSON, DENY)
    assert json.loads(text) == {"q": "a=1&password=%5BREDACTED%2010%5D&b=2"}


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_dot_env_in_a_multipart_text_field_is_hidden(end: str) -> None:
    """A multipart field's value (no file) holding the lines: read as a JSON string's
    (a form's pairs before, its first name holding the rest)."""
    mime = "multipart/form-data; boundary=XyZ"
    body = (f'--XyZ\r\nContent-Disposition: form-data; name="env"\r\n\r\n'
            f'{ENV.replace(chr(10), end)}\r\n--XyZ--\r\n').encode()
    record = post_data(body, len(body), {"content-type": mime, RAW_CONTENT_TYPE: mime},
                       DENY, 1 << 20)
    [param] = record["params"]
    assert SECRET not in param["value"]
    assert param["value"].startswith(f"# the app's settings{end}USER=ada{end}PASSWORD=%5B")
    assert param["value"].endswith(f"{end}HOST=db{end}")


# 2. A .env in a YAML scalar -----------------------------------------------------------

_SECRET_ENV = {"apiVersion": "v1", "kind": "Secret", "stringData": {".env": ENV}}

YAML_LEAKS = {
    "block-literal": "kind: Secret\nstringData:\n  .env: |\n"
                     + "".join(f"    {line}\n" for line in ENV.splitlines()) + "  other: x\n",
    "block-strip": "env: |-\n" + "".join(f"  {line}\n" for line in ENV.splitlines()),
    "block-folded": "env: >\n" + "".join(f"  {line}\n\n" for line in ENV.splitlines()),
    "block-item": "- |\n" + "".join(f"  {line}\n" for line in ENV.splitlines()),
    "block-crlf": "env: |\r\n" + "".join(f"  {line}\r\n" for line in ENV.splitlines()),
    "pyyaml-default": yaml.safe_dump(_SECRET_ENV),
    "pyyaml-double": yaml.safe_dump(_SECRET_ENV, default_style='"'),
    "pyyaml-single": yaml.safe_dump(_SECRET_ENV, default_style="'"),
    "pyyaml-literal": yaml.safe_dump(_SECRET_ENV, default_style="|"),
    "pyyaml-narrow": yaml.safe_dump(_SECRET_ENV, default_style='"', width=20),
    "double-escaped-name": f'env: "USER=ada\\n\\u0050ASSWORD={SECRET}\\nHOST=db"\n',
    "double-x-escape": f'env: "USER=ada\\n\\x50ASSWORD={SECRET}\\nHOST=db"\n',
    "double-escaped-equals": f'env: "USER=ada\\nPASSWORD\\u003d{SECRET}\\nHOST=db"\n',
    "compose-list": "services:\n  db:\n    environment:\n      - USER=ada\n"
                    f"      - PASSWORD={SECRET}\n      - \"PASSWORD={SECRET}\"\n"
                    "      - HOST=db\n",
    "plain-value": f"USER: ada\nenv: PASSWORD={SECRET}  # the db's\nHOST: db\n",
    "ci-script": f"script: |\n  USER=ada\n  export PASSWORD={SECRET}\n  make HOST=db\n",
    "quoted-over-lines": "env: |\n  USER=ada\n  PRIVATE_KEY=\"-----BEGIN KEY-----\n"
                         f"  {SECRET}\n  -----END KEY-----\"\n  HOST=db\n",
}


@pytest.mark.parametrize("case", YAML_LEAKS)
def test_a_dot_env_in_a_yaml_scalar_is_hidden_the_yaml_kept(case: str) -> None:
    body = YAML_LEAKS[case]
    assert SECRET in "\n".join(_strings(yaml.safe_load(body)))  # (the case holds one)
    # (A double-quoted scalar read through an escape JSON does not read, or over lines,
    # is hidden whole: its other lines go with it.)
    whole = case in ("double-x-escape", "pyyaml-narrow")
    kept = ("ada", "db") if case == "plain-value" else ("USER=ada", "HOST=db")
    _check(body, YAML, yaml.safe_load, () if whole else kept)


def test_the_same_in_yaml_and_a_plain_text_read_alike() -> None:
    """A block's lines are hidden as the text/plain body's are (the marker written as its
    indentation makes it: a pair indented is one spaced, hostile33's)."""
    [plain, _] = bodies_logged(ENV.encode(), "text/plain", DENY)
    [block, _] = bodies_logged(YAML_LEAKS["block-strip"].encode(), YAML, DENY)
    assert MARKS.sub("", yaml.safe_load(block)["env"]) == MARKS.sub("", plain.rstrip("\n"))


# 3. text/plain's own reading, which both share ------------------------------------------

PLAIN_LEAKS = {
    "export": f"USER=ada\nexport PASSWORD={SECRET}\n",
    "quoted-amp": f"USER=ada\nPASSWORD='a&{SECRET}'\n",
    "quoted-over-lines": f'USER=ada\nPRIVATE_KEY="-----BEGIN\n{SECRET}\n-----END"\nHOST=db\n',
}


@pytest.mark.parametrize("case", PLAIN_LEAKS)
def test_a_text_plain_dot_env_hides_these_too(case: str) -> None:
    for text in bodies_logged(PLAIN_LEAKS[case].encode(), "text/plain", DENY):
        assert SECRET not in text
        assert text.startswith("USER=ada\n"), text


# 4. What is kept ----------------------------------------------------------------------

KEPT = {
    "prose": "Set the password= field to what you typed\nthen save.",
    "prose-pair": "x=1\nmy password=is not here\n",
    "other-names": "USER=ada\nPASSWORDS=many\nPASSWORD_HINT=pet\n",
    "no-pair": "line one\npassword\n",
}


@pytest.mark.parametrize("case", KEPT)
def test_prose_and_other_names_are_kept(case: str) -> None:
    """A pair's name runs from its line's start (or a ``&`` or ``;``) to its ``=``, blanks
    and ``export`` aside: prose before it names another pair, kept as text/plain's is."""
    text = KEPT[case]
    assert kept_as_sent(json.dumps({"note": text}).encode(), JSON, DENY)
    assert kept_as_sent(yaml.safe_dump({"note": text}).encode(), YAML, DENY)
    assert kept_as_sent(("note: |\n" + "".join(
        f"  {line}\n" for line in text.splitlines())).encode(), YAML, DENY)


def test_a_marker_is_not_hidden_again() -> None:
    """A YAML link's value, hidden by the text's links' reading, is not read again as a
    longer marker."""
    [text, _] = bodies_logged(f"url: https://x/cb?password={SECRET}\n".encode(), YAML, DENY)
    assert text == "url: https://x/cb?password=%5BREDACTED%2010%5D\n"


# 5. Through a real app and collector --------------------------------------------------

@pytest.mark.parametrize("case, mime", [(JSON_LEAKS["configmap"], JSON),
                                        (YAML_LEAKS["pyyaml-literal"], YAML)],
                         ids=["json", "yaml"])
def test_through_a_flask_app_and_the_collector(collector: Collector, case: str,
                                               mime: str) -> None:
    log = logged_echo(collector, case, mime, denylist=["password"])
    assert SECRET not in json.dumps(log)
    for text in body_texts(log):
        assert "USER=ada" in text
        (json.loads if mime == JSON else yaml.safe_load)(text)


# 6. Cost: linear, counted (tests/support/work_count.py) -------------------------------

def _work(body: str, mime: str) -> int:
    data = body.encode()
    post_data(data, len(data), {"content-type": mime}, DENY, 1 << 24)  # (regexes compiled)
    return text_work(lambda: post_data(data, len(data), {"content-type": mime}, DENY,
                                       1 << 24))


HUGE = {
    "json-lines": lambda n: json.dumps({"env": f"PASSWORD={SECRET}\n" + "A=1\n" * n}),
    "json-open-quote": lambda n: json.dumps({"env": 'PASSWORD="x\n' + "A=1\n" * n}),
    "yaml-block": lambda n: "env: |\n  PASSWORD=x\n" + "  A=1\n" * n,
    "yaml-items": lambda n: "- PASSWORD=x\n" + "- A=1\n" * n,
    "yaml-open-quotes": lambda n: "a: 'PASSWORD=x\n" + "b: \"A=1\n" * n,
    "yaml-double": lambda n: 'env: "PASSWORD=x' + "\\nA=1" * n + '"\n',
}


@pytest.mark.parametrize("case", HUGE)
def test_huge_strings_cost_linear_work(case: str) -> None:
    """Four times the lines, at most five times the work (counted, not timed)."""
    small, large = (_work(HUGE[case](n), YAML if case.startswith("yaml") else JSON)
                    for n in (2_000, 8_000))
    assert large <= 5 * small, (small, large)


# 7. Any such line -----------------------------------------------------------------------

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["", "export ", "  ", "\t"]), st.sampled_from(["=", " = ", "= "]),
       st.sampled_from(["", "'", '"']),
       st.text(alphabet="abcXYZ019!@#$%^*()&;,[]{}:", min_size=4, max_size=30),
       st.sampled_from(["\n", "\r\n", "\r"]), st.sampled_from(["PASSWORD", "password"]))
def test_any_dot_env_line_in_a_json_string_or_a_yaml_block_is_hidden(
        before: str, equals: str, quote: str, value: str, end: str, name: str) -> None:
    secret = "Zq" + value
    env = end.join(["USER=ada", f"{before}{name}{equals}{quote}{secret}{quote}", "HOST=db"])
    for body, mime, load in (
            (json.dumps({"env": env}), JSON, lambda text: json.loads(text)["env"]),
            ("env: |\n" + "".join(f"  {line}\n" for line in env.splitlines()), YAML,
             lambda text: yaml.safe_load(text)["env"])):
        for text in bodies_logged(body.encode(), mime, DENY):
            assert secret not in text, text
            loaded = load(text)
            assert "USER=ada" in loaded and "HOST=db" in loaded, text
