"""hostile50: what hostile49 left in clear (docs/BODIES.md), with ``password`` denied.

1. Python's (and TOML's) triple-quoted strings over lines, ``password = \"\"\"...`` then
   its lines, ``PASSWORD='''...'''``: the ``.env`` reading and a script's assignment took
   the first two quotes for a closed string, and sent the next lines.
2. A keyword argument (``connect(password="...")``, ``f(user='ada', password = '...')``)
   and a TOML inline table's member (``db = { password = "..." }``): after a ``(``,
   ``,`` or ``{``. Prose (``the password = ...``) has none of these before the name and
   stays kept (hostile48/49's guards).
3. A shell's assignment within a line (``cd /x && PASSWORD=... ./run.sh``) and docker's
   ``-e``/``--env`` (``docker run -e PASSWORD=... img``): the value to its next blank.
4. A JSON string starting with ``[`` or ``{`` that is no document (TOML's ``[db]\\n
   password = "..."``): read as a document only, its pairs never.
5. HCL's (terraform's) heredoc, ``password = <<EOT`` to its ``EOT`` line.
"""

from __future__ import annotations

import json
import re
from typing import Callable

import pytest

from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import body_texts, logged_echo
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.test_hostile45_findings import _body_work

DENY = Redactor(["password"])
MARK = re.compile(r"\[REDACTED \d+\]|%5BREDACTED%20\d+%5D")
CODE_TYPES = ["text/plain", "text/x-python", "application/javascript", "text/markdown"]
TWO = SECRET + "2"

# 1. Triple-quoted strings over lines ------------------------------------------------------

#: (body, the lines holding the value.)
TRIPLE = {
    "double": (f'password = """{SECRET}\n{TWO}"""\nrun()\n', 2),
    "single-upper": (f"PASSWORD='''{SECRET}\n{TWO}'''\nrun()\n", 2),
    "opened-empty": (f'password = """\n{SECRET}\n"""\nrun()\n', 3),
    "indented": (f'def f():\n    password = """{SECRET}\n{TWO}"""\nrun()\n', 2),
    "quote-within": (f'password = """{SECRET} "x" \'y\'\n{TWO} ""\n"""\nrun()\n', 3),
    "member": (f'x(); self.password = """{SECRET}\n{TWO}"""\nrun()\n', 2),
    "toml-section": (f'[db]\nuser = "ada"\npassword = """{SECRET}\n{TWO}"""\nrun()\n', 2),
}


@pytest.mark.parametrize("mime", CODE_TYPES)
@pytest.mark.parametrize("case", TRIPLE)
def test_a_triple_quoted_value_is_hidden_to_its_closing_quotes(case: str, mime: str) -> None:
    """Failed before: 24 of 28 (the lines after the first sent; text/plain hid a
    "[db]" body whole). The line after it kept."""
    body, lines = TRIPLE[case]
    for text in bodies_logged(body.encode(), mime, DENY):
        assert SECRET not in text and TWO not in text, text
        if MARK.fullmatch(text):  # (text/plain's "[db]" then pairs: hidden whole, as before)
            continue
        assert text.endswith("\nrun()\n") and text.count("REDACTED") == lines, text


@pytest.mark.parametrize("case", ["double", "single-upper", "member", "quote-within"])
def test_a_triple_quoted_value_in_a_json_string_is_hidden(case: str) -> None:
    """Failed before: 4 of 4."""
    code = TRIPLE[case][0]
    body = json.dumps({"code": code, "n": 1}).encode()
    for text in bodies_logged(body, "application/json", DENY):
        logged = json.loads(text)
        assert SECRET not in text and TWO not in text, text
        assert logged["code"].endswith("\nrun()\n") and logged["n"] == 1, text


@pytest.mark.parametrize("body", [
    f'password = """{SECRET}"""\nrun()\n',
    f"x = 1; password = '''{SECRET}'''; run()\n",
])
def test_a_triple_quoted_value_on_one_line_is_hidden(body: str) -> None:
    """Failed before: 1 of 2 (after a ``;``, a bare name: sent)."""
    for text in bodies_logged(body.encode(), "text/plain", DENY):
        assert SECRET not in text and "run()" in text, text


@pytest.mark.parametrize("body", [
    'password_hint = """pet\nname"""\nrun()\n',
    'doc = """the password = ...\nis typed"""\nrun()\n',
])
def test_guard_other_names_triple_quotes_are_kept(body: str) -> None:
    """(Passed before too.)"""
    assert kept_as_sent(body.encode(), "text/x-python", DENY)


def test_the_lines_after_the_closing_quotes_are_read_again() -> None:
    """A triple quote closed: the next line's pair is its own. Failed before (the
    second value's lines sent)."""
    body = f'password = """{SECRET}\n"""\nuser = "ada"\npassword = """{TWO}\n{TWO}"""\n'
    for text in bodies_logged(body.encode(), "text/plain", DENY):
        assert SECRET not in text and TWO not in text and 'user = "ada"' in text, text


# 2. Keyword arguments and TOML's inline tables -------------------------------------------

#: (body, the value as written: what is hidden.)
ARGUMENTS = {
    "python-call": (f'db = connect(password="{SECRET}")\n', f'"{SECRET}"'),
    "first-of-two": (f"f(password='{SECRET}', user='ada')\n", f"'{SECRET}'"),
    "second-spaced": (f"f(user='ada', password = '{SECRET}')\n", f"'{SECRET}'"),
    "unquoted": (f"f(user=ada, password={SECRET}, port=1)\n", SECRET),
    "unquoted-last": (f"f(user=ada, password={SECRET})\n", SECRET),
    "kotlin-named": (f'connect(host = "h", password = "{SECRET}")\n', f'"{SECRET}"'),
    "toml-inline": (f'db = {{ password = "{SECRET}", host = "x" }}\n', f'"{SECRET}"'),
    "toml-inline-last": (f"db = {{ user = 'a', password = '{SECRET}' }}\n", f"'{SECRET}'"),
}


@pytest.mark.parametrize("mime", [*CODE_TYPES, "application/toml", "text/html"])
@pytest.mark.parametrize("case", ARGUMENTS)
def test_a_keyword_arguments_value_is_hidden(case: str, mime: str) -> None:
    """Failed before: 46 of 48 (text/plain read a TOML inline table as a form, hiding
    the table's rest with it: still so). Only the value is hidden: the call, the other
    arguments kept."""
    body, value = ARGUMENTS[case]
    for text in bodies_logged(body.encode(), mime, DENY):
        assert SECRET not in text, text
        if not (mime == "text/plain" and case.startswith("toml")):
            assert MARK.sub("", text) == body.replace(value, "", 1), text


@pytest.mark.parametrize("case", ["python-call", "second-spaced", "toml-inline"])
def test_a_keyword_argument_in_a_json_string_is_hidden(case: str) -> None:
    """Failed before: 2 of 3 (the TOML table was read as a form)."""
    code = ARGUMENTS[case][0].rstrip("\n")
    for text in bodies_logged(json.dumps({"code": code}).encode(), "application/json", DENY):
        assert SECRET not in text and "REDACTED" in text, text


ARGUMENTS_KEPT = {
    "prose": "Set the password = what you typed, then password: 1\n",
    "comparison": "if f(password == x, y != password) or (password >= 1): pass\n",
    "other-names": "f(password_hint='pet', passwords=[], user='ada')\n",
    "read": "connect(password, user=ada)\n",
    "arrow": "f(password => 1, password=> 2)\n",
    "hidden-already": "f(password=[REDACTED 3], user='ada')\n",
}


@pytest.mark.parametrize("mime", CODE_TYPES)
@pytest.mark.parametrize("case", ARGUMENTS_KEPT)
def test_guard_prose_comparisons_and_other_names_are_kept(case: str, mime: str) -> None:
    """(Passed before too.)"""
    assert kept_as_sent(ARGUMENTS_KEPT[case].encode(), mime, DENY)


# 3. Shells: an assignment within a line, docker's -e -------------------------------------

SHELL = {
    "after-and": (f"cd /x && PASSWORD={SECRET} ./run.sh\n", SECRET),
    "after-semicolon": (f"cd /x; PASSWORD='{SECRET}' ./run.sh\n", f"'{SECRET}'"),
    "docker-e": (f"docker run -e PASSWORD={SECRET} img\n", SECRET),
    "docker-e-quoted": (f'docker run -e "PASSWORD={SECRET}" img\n', SECRET),
    "docker-env": (f"docker run --env PASSWORD={SECRET} -p 80 img\n", SECRET),
    "docker-env-eq": (f"docker run --env=PASSWORD={SECRET} img\n", SECRET),
    "build-arg": (f"docker build --build-arg PASSWORD={SECRET} .\n", SECRET),
}


@pytest.mark.parametrize("mime", ["text/plain", "application/x-sh", "text/markdown"])
@pytest.mark.parametrize("case", SHELL)
def test_a_shells_assignment_within_a_line_is_hidden(case: str, mime: str) -> None:
    """Failed before: 21 of 21. The value to its next blank (its closing quote), the
    command kept."""
    body, value = SHELL[case]
    for text in bodies_logged(body.encode(), mime, DENY):
        assert SECRET not in text, text
        assert MARK.sub("", text) == body.replace(value, "", 1), text


@pytest.mark.parametrize("body", [
    "Type the password= field's text, then press -e to go\n",
    "run a && b; echo PASSWORD_HINT=pet -e USER=ada\n",
])
def test_guard_shell_prose_and_other_names_are_kept(body: str) -> None:
    """(Passed before too.)"""
    assert kept_as_sent(body.encode(), "text/plain", DENY)


# 4. A JSON string starting with "[" that is no document ----------------------------------

@pytest.mark.parametrize("value", [
    f'[db]\npassword = "{SECRET}"',
    f"[db]\nhost = x\npassword={SECRET}\n",
    f'{{ not json }}\npassword = "{SECRET}"',
])
def test_a_json_strings_toml_or_ini_is_read_as_lines(value: str) -> None:
    """Failed before: 2 of 3 (read as a document only; "{ not json }" was read as
    text before a document)."""
    for text in bodies_logged(json.dumps({"cfg": value}).encode(), "application/json", DENY):
        assert SECRET not in text and json.loads(text)["cfg"].startswith(value[:4]), text


# 5. HCL's heredoc ------------------------------------------------------------------------

@pytest.mark.parametrize("opener", ["<<EOT", "<<-EOT", '<<"EOT"'])
def test_an_hcl_heredoc_is_hidden_to_its_end_line(opener: str) -> None:
    """Failed before: 3 of 3 (its lines sent). The end line and after kept."""
    body = f'resource "db" "x" {{\n  password = {opener}\n{SECRET}\n  {TWO}\n  EOT\n}}\n'
    for text in bodies_logged(body.encode(), "text/plain", DENY):
        assert SECRET not in text and TWO not in text, text
        assert text.endswith("\n  EOT\n}\n"), text


# What passed before: each shape the task listed, hidden --------------------------------

ALREADY = {
    "toml": (f'password = "{SECRET}"\n', "application/toml"),
    "toml-section": (f'[db]\npassword = "{SECRET}"\n', "application/toml"),
    "ini-colon": (f"[db]\npassword: {SECRET}\nhost: x\n", "text/plain"),
    "ini-eq": (f"[db]\npassword={SECRET}\nhost=x\n", "text/plain"),
    "properties-dotted": (f"db.password={SECRET}\n", "text/x-java-properties"),
    "properties-colon": (f"password:{SECRET}\n", "text/x-java-properties"),
    "hcl": (f'resource "db" "x" {{\n  password = "{SECRET}"\n}}\n', "text/plain"),
    "export": (f"export PASSWORD={SECRET}\n", "application/x-sh"),
    "prefix": (f'PASSWORD="{SECRET}" cmd\n', "text/plain"),
    "xml-attribute": (f'<db password="{SECRET}"/>\n', "application/xml"),
    "xml-element": (f"<db><password>{SECRET}</password></db>\n", "application/xml"),
}


@pytest.mark.parametrize("case", ALREADY)
def test_guard_the_other_shapes_are_hidden(case: str) -> None:
    """(Passed before too.)"""
    body, mime = ALREADY[case]
    for text in bodies_logged(body.encode(), mime, DENY):
        assert SECRET not in text and "REDACTED" in text, text


# Through a real app, and linear work ------------------------------------------------------

def test_through_a_flask_app_and_the_collector(collector: Collector) -> None:
    """A real Flask app echoing the body, the collector on 127.0.0.1. Failed before."""
    body = TRIPLE["double"][0] + ARGUMENTS["python-call"][0] + SHELL["docker-e"][0]
    log = logged_echo(collector, body, "text/x-python")
    assert SECRET not in json.dumps(log)
    for text in body_texts(log):
        assert "connect(password=[REDACTED" in text and "run -e PASSWORD=[REDACTED" in text


HUGE: dict[str, Callable[[int], int]] = {
    "open-triple": lambda n: _body_work('password = """x\n' + 'a "" b\n' * n, "text/plain"),
    "quotes-in-triple": lambda n: _body_work('password = """' + '"" \\" ' * n + "\n",
                                             "text/x-python"),
    "arguments": lambda n: _body_work("f(" + "a=1, " * n + "password=x)\n", "text/plain"),
    "denied-arguments": lambda n: _body_work("f(" + "password='x', " * n + ")\n",
                                             "application/javascript"),
    "unquoted-no-stop": lambda n: _body_work("f(password=" + "x" * n + "\n", "text/plain"),
    "shell": lambda n: _body_work("a" + " && PASSWORD=x" * n + "\n", "text/plain"),
    "heredoc": lambda n: _body_work("password = <<EOT\n" + "line\n" * n, "text/plain"),
    "json-brackets": lambda n: _body_work(json.dumps({"s": "[a]\n" + "b=1\n" * n}),
                                          "application/json"),
}


@pytest.mark.parametrize("case", HUGE)
def test_huge_inputs_cost_linear_work(case: str) -> None:
    """Four times the input, at most five times the work (counted, not timed)."""
    small, large = (HUGE[case](n) for n in (500, 2_000))
    assert large <= 5 * small, (small, large)
