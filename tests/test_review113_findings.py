"""review113: an adversarial review of hostile26's YAML reader (har/redaction_yaml).

1. Leaks: a denied key's value went out in clear in YAML that PyYAML reads as a mapping
   with that key, in shapes real files use: a key with properties (``&a password: ...``,
   ``!!str password: ...``), a flow mapping after an anchor (``base: &b {password:
   ...}``, the base of a ``<<`` merge in compose files), a document's content on its
   ``---`` line (``--- {password: ...}``), a comment line at the key's indentation
   before an indented value, and a denied key whose value is an alias of an anchored
   value elsewhere (``x-db: &db S`` ... ``password: *db``: the value was hidden as
   ``*db``, S sent at its anchor).
2. Cost: a line's start was found slicing the rest of the line at each ``- `` of a
   sequence: a 384 KiB line of ``-  `` took 23 s (x40 a doubling). Found a step at a
   time now. And (older than hostile26, x5 worse with its readings) a run of
   backslashes no quote follows, after ``{"password": \\"`` in a form or a text line,
   was read again from each of its characters: 32 KiB took 10 s (har/quote_runs).
3. Guards: real documents (a Kubernetes manifest, a GitHub Actions workflow, an OpenAPI
   spec, a docker-compose file) are kept byte for byte with no denylist and with one
   naming no key of theirs, and only the denied keys' values change otherwise.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har import redaction_cut
from readme_metrics.har.bodies import post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.quote_runs import quote_matches
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_yaml import _content, yaml_redacted
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo

yaml = pytest.importorskip("yaml")

YAML = "application/yaml"
SECRET = "Zq8h22Xw3K"
DENY = Redactor(denylist=["password"])


def _sent(body: str, redactor: Redactor = DENY) -> str:
    data = body.encode()
    record = post_data(data, len(data), {"content-type": YAML, RAW_CONTENT_TYPE: YAML},
                       redactor, 1 << 20)
    return str(record["text"])


#: YAML PyYAML reads as {..., "password": SECRET}, sent in clear by hostile26's reader;
#: what is sent now.
LEAKED = {
    "anchored key": (f"&a password: {SECRET}\n", '&a password: "[REDACTED 10]"\n'),
    "tagged key": (f"!!str password: {SECRET}\n", '!!str password: "[REDACTED 10]"\n'),
    "item's anchored key": (f"- &a password: {SECRET}\n",
                            '- &a password: "[REDACTED 10]"\n'),
    "anchored flow mapping": (f"base: &b {{user: zoe, password: {SECRET}}}\nx:\n  <<: *b\n",
                              # (Member by member since hostile36: user kept.)
                              'base: &b {user: zoe, password: "[REDACTED 10]"}\nx:\n'
                              '  <<: *b\n'),
    "tagged flow mapping": (f"db: !!map {{password: {SECRET}}}\n",
                            'db: !!map {password: "[REDACTED 10]"}\n'),
    "document's line": (f"--- {{password: {SECRET}}}\n", '--- {password: "[REDACTED 10]"}\n'),
    "comment before the value": (f"password:\n# the new one\n  {SECRET}\n",
                                 'password: "[REDACTED 26]"\n'),
    "alias of an anchored value": (
        f"x-db: &db {SECRET}\nservices:\n  db:\n    environment:\n      password: *db\n",
        'x-db: &db "[REDACTED 10]"\nservices:\n  db:\n    environment:\n'
        '      password: "[REDACTED 3]"\n'),
    "alias of an anchored mapping": (
        f"x: &creds\n  user: zoe\n  pass: {SECRET}\npassword: *creds\n",
        'x: &creds "[REDACTED 28]"\npassword: "[REDACTED 6]"\n'),
}


@pytest.mark.parametrize("shape", LEAKED)
def test_a_denied_value_in_these_shapes_is_hidden(shape: str) -> None:
    body, expected = LEAKED[shape]
    read = list(yaml.safe_load_all(body))
    assert SECRET in json.dumps(read)  # (what a reader of the document gets)
    assert _sent(body) == expected


def test_an_alias_elsewhere_keeps_the_anchor_and_what_no_denied_key_names() -> None:
    """Only the anchors a denied key's alias names are hidden; the text stays YAML."""
    body = ("x-db: &db hunter2zz\nx-user: &u zoe\nservices:\n  db:\n    user: *u\n"
            "    password: *db\n  other:\n    pass: *db\n")
    sent = _sent(body)
    assert "hunter2zz" not in sent
    assert yaml.safe_load(sent) == {
        "x-db": "[REDACTED 9]", "x-user": "zoe",
        "services": {"db": {"user": "zoe", "password": "[REDACTED 3]"},
                     "other": {"pass": "[REDACTED 9]"}}}


def test_a_flask_app_sends_a_compose_files_aliased_password_hidden(
        collector: Collector) -> None:
    body = (f"x-pw: &pw {SECRET}\nservices:\n  db:\n    image: postgres:16\n"
            "    environment:\n      password: *pw\n")
    entry = logged_echo(collector, body, YAML)["request"]["log"]["entries"][0]
    expected = ('x-pw: &pw "[REDACTED 10]"\nservices:\n  db:\n    image: postgres:16\n'
                '    environment:\n      password: "[REDACTED 3]"\n')
    assert entry["request"]["postData"]["text"] == expected
    assert entry["response"]["content"]["text"] == expected


def test_a_lines_start_is_found_without_a_copy_a_dash() -> None:
    """``- `` repeated over one line: each was a slice of the rest of the line (a 384 KiB
    line took 23 s). Memory, not time: the peak stays well under one copy of the line.

    The bound, half the line (196,613 bytes): a slice of the rest at the first ``- ``
    alone is a copy of the line (the peak 393,273 with the slicing put back); the call's
    own peak is 1,274 bytes (3,974 with its patterns compiled in the call). tracemalloc
    counts every thread's allocations while it runs, though (the xdist worker's, a
    sender's, a server's of the test before): up to 98,496 were seen, over the quarter
    of the line this bound was (98,306). Half leaves twice that above the call's own
    and the bug's copy twice the bound."""
    line = "-  " * (1 << 17) + "password: x"
    _content("- - password: x")  # (its patterns compiled before the count)
    tracemalloc.start()
    try:
        at = _content(line)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert at == len(line) - len("password: x")
    assert peak < len(line) // 2, peak
    assert yaml_redacted(line, DENY) == "-  " * (1 << 17) + 'password: "[REDACTED 1]"'


K8S = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: db-creds
              key: password
      volumes:
      - name: tls
        secret:
          secretName: web-tls
---
apiVersion: v1
kind: Service
metadata:
  name: web
"""

WORKFLOW = """\
name: CI
on:
  push:
    branches: [main]
jobs:
  test:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/cache@v4
        with:
          path: ~/.cache/pip
          key: ${{ runner.os }}-pip-${{ hashFiles('**/requirements.txt') }}
      - run: |
          pip install -r requirements.txt
          pytest -q
        env:
          TOKEN: ${{ secrets.TOKEN }}
"""

OPENAPI = """\
openapi: 3.0.3
info: {title: Pets, version: 1.0.0}
paths:
  /login:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                username: {type: string}
                password: {type: string, format: password}
      security:
        - apiKey: []
components:
  securitySchemes:
    apiKey: {type: apiKey, in: header, name: X-API-Key}
"""

COMPOSE = """\
x-env: &env
  DEBUG: "1"
services:
  db:
    image: postgres:16
    environment:
      <<: *env
      POSTGRES_PASSWORD: example
    secrets:
      - db_password
  web:
    build: .
    ports:
      - "8000:8000"
    depends_on: [db]
secrets:
  db_password:
    file: ./db_password.txt
"""

DOCUMENTS = {"k8s": K8S, "workflow": WORKFLOW, "openapi": OPENAPI, "compose": COMPOSE}


@pytest.mark.parametrize("name", DOCUMENTS)
@pytest.mark.parametrize("denylist", [[], ["auth"], ["passwd", "api_key"]], ids=str)
def test_guard_a_real_document_naming_no_denied_key_is_kept(name: str,
                                                            denylist: list[str]) -> None:
    body = DOCUMENTS[name]
    assert _sent(body, Redactor(denylist=denylist) if denylist else Redactor()) == body


#: A denylist of common words: the lines that change (each a denied key's own value).
CHANGED = {
    ("k8s", "password"): {},
    ("k8s", "key"): {"              key: password": '              key: "[REDACTED 8]"'},
    ("k8s", "secret"): {"        secret:": '        secret: "[REDACTED 19]"',
                        "          secretName: web-tls": None},
    ("workflow", "token"): {"          TOKEN: ${{ secrets.TOKEN }}":
                            '          TOKEN: "[REDACTED 20]"'},
    ("openapi", "password"): {"                password: {type: string, format: password}":
                              '                password: "[REDACTED 32]"'},
    ("compose", "secret"): {},
    ("compose", "password"): {},
}


@pytest.mark.parametrize("name, denied", list(CHANGED), ids=str)
def test_guard_a_real_document_changes_in_its_denied_values_only(name: str,
                                                                 denied: str) -> None:
    body = DOCUMENTS[name]
    changes = CHANGED[(name, denied)]
    expected = [changes.get(line, line) for line in body.split("\n")]
    sent = _sent(body, Redactor(denylist=[denied]))
    assert sent == "\n".join(line for line in expected if line is not None)
    assert list(yaml.safe_load_all(sent))  # (still YAML)



#: A run of backslashes no quote follows, after a member's name, in a form or text
#: line: each character of the run was a try of the quote pattern reading the run's rest
#: (32 KiB took 10 s; 256 KiB, 40 minutes).
_RUN_BODY = "import sys\n" + """\
from readme_metrics.har.bodies import post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
mime = sys.argv[1]
body = b'a=1&b={"password": \\\\"' + b"\\\\" * (256 << 10)
record = post_data(body, len(body), {"content-type": mime, RAW_CONTENT_TYPE: mime},
                   Redactor(denylist=["password"]), 1 << 20)
print(record.get("text", record.get("params")))
"""


@pytest.mark.parametrize("mime", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_run_of_backslashes_no_quote_follows_is_read_once(mime: str) -> None:
    """Run in a child whose CPU time is bounded at 20 s (a limit on the work, not a
    timing: linear takes milliseconds; main's quadratic reading, 40 minutes)."""
    import sys

    from tests.support.processes import run_command

    limit = "import resource; resource.setrlimit(resource.RLIMIT_CPU, (20, 20))\n"
    root = Path(__file__).resolve().parent.parent  # (this tree's readme_metrics)
    done = run_command([sys.executable, "-c", limit + _RUN_BODY, mime], timeout=600,
                       capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "REDACTED" in done.stdout and "\\" not in done.stdout, done.stdout[:200]


READINGS = [redaction_cut._AS_SENT, redaction_cut._DECODED, redaction_cut._SINGLE,
            redaction_cut._SINGLE_DECODED, redaction_cut._SINGLE_ESCAPED,
            redaction_cut._DOUBLED, *redaction_cut._ESCAPED, *redaction_cut._ESCAPED_DECODED]
_PIECES = ["\\", '"', "'", "%5C", "%5c", "%22", "%27", "u0022", "x", "%", "5", "C", "2",
           ":", " "]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_quote_matches_are_finditers_own(pieces: list[str]) -> None:
    """The linear reading finds the very matches the pattern's finditer does, in each
    reading (20,000 examples when written)."""
    raw = "".join(pieces)
    for reading in READINGS:
        assert [(found.span(), found.group(1)) for found in quote_matches(
            raw, reading.quote, reading.alone)] == [
            (found.span(), found.group(1)) for found in reading.quote.finditer(raw)]
