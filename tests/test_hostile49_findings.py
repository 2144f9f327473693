"""hostile49: what hostile47/48 left in clear (docs/BODIES.md), with ``password`` denied.

1. A member's or a subscript's assignment: PHP's ``$this->password = '...';`` and
   ``$cfg['password'] = '...';``, Python's ``self.password = "..."`` and
   ``config["password"] = "..."`` within a line, JavaScript's ``obj.password = '...'``,
   Ruby's ``@password = "..."`` and ``config[:password] = "..."``.
2. A JSON string that is one statement (``{"code": "<?php $password = '...'; ?>"}``,
   ``{"script": "a(); obj.password = '...'"}``): a one-line string was read as a URL or
   a form only.
3. A template literal (or a PHP string) opened within a line and running over lines:
   ``a(); const password = `...`` then its lines: the first line's part was hidden, the
   next lines sent.
4. HTML: a script's line holding ``<`` and ``>`` (TypeScript's ``Secret<string>``, ``if
   (a < b) {...} if (c > d)``) was parted at what read as a tag, the name in one part,
   the value in the next; the same generics HTML-escaped (``Secret&lt;string&gt;``).
5. A name holding a lone surrogate (``password\\ud800``, ``pass\\udc80word``: a JSON
   escape) counted as another name; names are now compared without them (a reader
   dropping them, Python's ``errors="ignore"``, reads ``password``). Reverses
   hostile47's guard that kept ``PASSWORD\\ud800=...`` (see test_hostile47_findings).
"""

from __future__ import annotations

import json
import re
from typing import Callable

import pytest
import yaml

from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import body_texts, logged_echo
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.test_hostile45_findings import _body_work

DENY = Redactor(["password"])
MARK = re.compile(r"\[REDACTED \d+\]|%5BREDACTED%20\d+%5D")
TYPES = ["text/plain", "application/javascript", "text/html", "text/markdown"]

# 1. Members and subscripts ---------------------------------------------------------------

#: (body, the value as written: what is hidden.)
MEMBERS = {
    "php-this": (f"$this->password = '{SECRET}';\n", f"'{SECRET}'"),
    "php-this-in-method": (f"function f() {{ $this->password = '{SECRET}'; }}\n",
                           f"'{SECRET}'"),
    "php-subscript": (f"$cfg['password'] = '{SECRET}';\n", f"'{SECRET}'"),
    "php-subscript-double": (f"$cfg[\"password\"]='{SECRET}'\n", f"'{SECRET}'"),
    "php-nested-subscript": (f"$cfg['db']['password'] = \"{SECRET}\";\n", f'"{SECRET}"'),
    "php-static": (f"self::$password = '{SECRET}';\n", f"'{SECRET}'"),
    "python-self-in-line": (f'def f(self): self.password = "{SECRET}"\n', f'"{SECRET}"'),
    "python-subscript": (f'config["password"] = "{SECRET}"\n', f'"{SECRET}"'),
    "python-environ": (f"if ci: os.environ['PASSWORD'] = '{SECRET}'\n", f"'{SECRET}'"),
    "js-member-in-line": (f"x(); obj.password = '{SECRET}';\n", f"'{SECRET}'"),
    "js-env-in-line": (f'if (!ci) process.env.PASSWORD = "{SECRET}";\n', f'"{SECRET}"'),
    "js-subscript": (f"obj['password'] = '{SECRET}'; next();\n", f"'{SECRET}'"),
    "js-unquoted": (f"a(); this.password = {SECRET}; b();\n", SECRET),
    "ruby-ivar": (f'@password = "{SECRET}"\n', f'"{SECRET}"'),
    "ruby-class-var": (f"  @@password = '{SECRET}'\n", f"'{SECRET}'"),
    "ruby-symbol": (f'config[:password] = "{SECRET}"\n', f'"{SECRET}"'),
    "ruby-self-in-def": (f"def setup; self.password = '{SECRET}'; end\n", f"'{SECRET}'"),
    "markdown-inline": (f"Set ` cfg.password = {SECRET}` first, then run.\n", SECRET),
}


@pytest.mark.parametrize("mime", TYPES)
@pytest.mark.parametrize("case", MEMBERS)
def test_a_members_or_subscripts_assignment_has_its_value_hidden(case: str, mime: str
                                                                ) -> None:
    """Failed before: 72 of 72 (18 shapes in four types, each sent in clear). Only the
    value is hidden: the target, the code around it kept (an unquoted value in inline
    code to its closing backquote, the prose after it too)."""
    body, value = MEMBERS[case]
    for text in bodies_logged(body.encode(), mime, DENY):
        assert SECRET not in text, text
        assert MARK.sub("", text) == body.replace(value, "", 1), text


MEMBERS_KEPT = {
    "comparisons": "if ($this->password == $x || obj.password === y) {}\n",
    "arrows": "$cfg['password'] => 'x'; $a->password =~ /x/; a.password >= 1;\n",
    "other-names": "$this->password_hint = 'pet'; obj['passwords'] = []; @passwordx = 1;\n",
    "prose": "Set the password = what you typed; see obj. password = 1\n",
    "read-not-set": "use($cfg['password']); y(self.password, @password);\n",
    "hidden-already": "  $this->password = [REDACTED 5]; @password = [REDACTED 3]\n",
}


@pytest.mark.parametrize("mime", TYPES)
@pytest.mark.parametrize("case", MEMBERS_KEPT)
def test_guard_comparisons_reads_and_other_names_are_kept(case: str, mime: str) -> None:
    """(Passed before too.)"""
    assert kept_as_sent(MEMBERS_KEPT[case].encode(), mime, DENY)


# 2. A JSON string that is a statement -----------------------------------------------------

STATEMENTS = {
    "php-tag": f"<?php $password = '{SECRET}'; ?>",
    "php-this": f"$this->password = '{SECRET}';",
    "php-subscript": f"$cfg['password'] = '{SECRET}';",
    "js-member": f"a(); obj.password = '{SECRET}';",
    "python-subscript": f'config["password"] = "{SECRET}"',
    "after-call": f'a(); const PASSWORD="{SECRET}"',
    "go": f'if ok {{ password := "{SECRET}" }}',
}


@pytest.mark.parametrize("case", STATEMENTS)
def test_a_json_string_that_is_a_statement_has_its_value_hidden(case: str) -> None:
    """Failed before: 7 of 7 (the one-line string read as a URL or a form only). The
    other members and the code kept."""
    statement = STATEMENTS[case]
    body = json.dumps({"name": "deploy", "script": statement}).encode()
    for text in bodies_logged(body, "application/json", DENY):
        assert SECRET not in text, text
        logged = json.loads(text)
        assert logged["name"] == "deploy" and "REDACTED" in logged["script"], text
        assert MARK.sub("", logged["script"]).replace('""', "").replace("''", "") == (
            MARK.sub("", statement.replace(f"'{SECRET}'", "").replace(
                f'"{SECRET}"', "")))


@pytest.mark.parametrize("value", [
    "Then let password be chosen; the password = what you typed.",
    "a(); obj.password_hint = 'pet'; x == $password",
    "see https://example.com/?user=ada; obj.user = 'x'",
    "the password = 'x' is prose; so is password: 1",
])
def test_guard_a_json_strings_prose_and_other_names_are_kept(value: str) -> None:
    """(Passed before too.)"""
    assert kept_as_sent(json.dumps({"text": value}).encode(), "application/json", DENY)


def test_guard_a_json_strings_env_lines_stay_hidden() -> None:
    """``{"env": "PASSWORD=...\\nOTHER=y"}`` (hostile42): passed before too."""
    body = json.dumps({"env": f"PASSWORD={SECRET}\nOTHER=y"}).encode()
    for text in bodies_logged(body, "application/json", DENY):
        assert SECRET not in text and json.loads(text)["env"].endswith("\nOTHER=y")


# 3. A quote opened within a line, running over lines --------------------------------------

#: (body, the lines hidden: each written with its indentation, the rest kept.)
OVER_LINES = {
    "template-after-call": (
        f"a(); const password = `{SECRET}\n  {SECRET}2\n`;\nrun();\n", 3),
    "template-in-block": (
        f"if (x) {{ let password = `line\n{SECRET}`; }}\nrun();\n", 2),
    "template-member": (f"x(); this.password = `{SECRET}\n{SECRET}`;\nrun();\n", 2),
    "php-string": (f"<?php $cfg['password'] = '{SECRET}\n{SECRET}';\nrun();\n", 2),
}


@pytest.mark.parametrize("mime", TYPES)
@pytest.mark.parametrize("case", OVER_LINES)
def test_a_quote_opened_within_a_line_is_hidden_to_the_line_closing_it(case: str, mime: str
                                                                     ) -> None:
    """Failed before: 16 of 16 (the lines after the first sent). The lines after the
    closing one are kept."""
    body, lines = OVER_LINES[case]
    for text in bodies_logged(body.encode(), mime, DENY):
        assert SECRET not in text, text
        assert text.endswith("\nrun();\n") and text.count("REDACTED") == lines, text


def test_a_template_literal_in_a_json_strings_lines_is_hidden() -> None:
    """Failed before (the JSON string's lines read as text/plain's)."""
    script = f"a();\nb(); const password = `{SECRET}\n{SECRET}`;\nrun();"
    for text in bodies_logged(json.dumps({"script": script}).encode(), "application/json", DENY):
        logged = json.loads(text)["script"]
        assert SECRET not in text and logged.count("REDACTED") == 2, text
        assert logged.startswith("a();\nb(); const password = [REDACTED"), text
        assert logged.endswith("\nrun();"), text


# 4. HTML: a script's line holding "<" and ">" ---------------------------------------------

HTML = {
    "generic": (f'<pre>const password: Secret<string> = "{SECRET}";</pre>\n', f'"{SECRET}"'),
    "generic-two": (f"<pre><code>let password: Map<string, string> = '{SECRET}'</code></pre>\n",
                    f"'{SECRET}'"),
    "escaped": (f'<pre>const password: Secret&lt;string&gt; = "{SECRET}";</pre>\n',
                f'"{SECRET}"'),
    "comparisons": (f"<script>if (a < b) {{ let password = '{SECRET}'; }} if (c > d) {{}}"
                    "</script>\n", f"'{SECRET}'"),
    "member": (f"<script>if (a < b) {{ obj.password = '{SECRET}'; }} x = c > d;</script>\n",
               f"'{SECRET}'"),
}


@pytest.mark.parametrize("case", HTML)
def test_a_scripts_line_in_html_is_read_whole(case: str) -> None:
    """Failed before: 5 of 5. Only the value is hidden, the tags kept."""
    body, value = HTML[case]
    for text in bodies_logged(body.encode(), "text/html", DENY):
        assert SECRET not in text, text
        assert MARK.sub("", text) == body.replace(value, "", 1), text


def test_a_template_literal_over_lines_in_html_is_hidden() -> None:
    """Failed before."""
    body = f"<script>\nif (a < b) {{ let password = `{SECRET}\n{SECRET}`; }}\n</script>\n"
    for text in bodies_logged(body.encode(), "text/html", DENY):
        assert SECRET not in text and text.endswith("\n</script>\n"), text


@pytest.mark.parametrize("body", [
    "<p>a < b and c > d: the password = what you typed</p>\n",
    '<input type="password" name="pw"> <a href="/x?a=1">x</a>\n',
    "<pre>const password_hint: Secret<string> = 'pet';</pre>\n",
])
def test_guard_html_prose_and_other_names_are_kept(body: str) -> None:
    """(Passed before too.)"""
    assert kept_as_sent(body.encode(), "text/html", DENY)


# 5. A name holding a lone surrogate -------------------------------------------------------

SURROGATES = {
    "key-after": '{"password\\ud800": "%s"}',
    "key-within": '{"pass\\udc80word": "%s"}',
    "key-before": '{"\\udfffPASSWORD": "%s"}',
    "key-nested": '{"db": {"pass\\ud800word": "%s", "host": "x"}}',
    "env-line": '{"env": "USER=ada\\nPASSWORD\\ud800=%s"}',
    "env-one": '{"env": "PASSWORD\\udc80=%s"}',
}


@pytest.mark.parametrize("case", SURROGATES)
def test_a_name_holding_a_lone_surrogate_is_the_name(case: str) -> None:
    """Failed before: 6 of 6. The escape is kept as sent (the log is JSON a strict
    reader reads), the value hidden."""
    body = (SURROGATES[case] % SECRET).encode()
    for text in bodies_logged(body, "application/json", DENY):
        assert SECRET not in text and "REDACTED" in text, text
        text.encode("utf-8")  # (no raw lone surrogate)
        assert "\\ud" in text or "\\ud" in json.dumps(json.loads(text)), text


def test_a_yaml_name_holding_a_lone_surrogate_is_the_name() -> None:
    """Failed before: the key's value sent."""
    body = f'"password\\ud800": {SECRET}\nuser: ada\n'
    for text in bodies_logged(body.encode(), "application/yaml", DENY):
        assert SECRET not in text and yaml.safe_load(text)["user"] == "ada", text


@pytest.mark.parametrize("body", [
    '{"password\\ufffd": "kept", "pass\\u00e9word": "kept"}',
    '{"user\\ud800": "kept", "\\ud83d\\ude00password_hint": "kept"}',
])
def test_guard_other_names_beyond_ascii_are_kept(body: str) -> None:
    """A replacement character or a letter is a character of the name; a surrogate
    pair is its character (passed before too)."""
    assert kept_as_sent(body.encode(), "application/json", DENY)


# Through a real app, and linear work ------------------------------------------------------

def test_through_a_flask_app_and_the_collector(collector: Collector) -> None:
    """A real Flask app echoing the body, the collector on 127.0.0.1. Failed before."""
    body = (MEMBERS["php-this"][0] + MEMBERS["python-subscript"][0]
            + OVER_LINES["template-after-call"][0])
    log = logged_echo(collector, body, "application/javascript")
    assert SECRET not in json.dumps(log)
    for text in body_texts(log):
        assert text.count("REDACTED") == 5 and "$this->password = [REDACTED" in text, text


HUGE: dict[str, Callable[[int], int]] = {
    "accesses": lambda n: _body_work("password=1\na" + ".b" * n + " = 1;\n",
                                     "application/javascript"),
    "subscripts": lambda n: _body_work("password=1\na" + "['b']" * n + " x\n", "text/plain"),
    "arrows": lambda n: _body_work("password=1\n$a" + "->b" * n + " == 1\n", "text/plain"),
    "members": lambda n: _body_work("a(); obj.password = 'x';" + " o.a = 1;" * n + "\n",
                                    "text/markdown"),
    "html-lines": lambda n: _body_work("password=1\n" + "<b>a < c</b> = 1\n" * n,
                                       "text/html"),
    "open-template": lambda n: _body_work("a(); let password = `x\n" + "line\n" * n,
                                          "application/javascript"),
    "denied-many": lambda n: _body_work("a();" + " o.password = 'x'" * n + " " * n + "\n",
                                        "application/javascript"),
    "hidden-many": lambda n: _body_work("a();" + " o.password = [REDACTED 1]" * n + "\n",
                                        "text/plain"),
    "inline-code": lambda n: _body_work("password=1\n" + "` a.password = x` b " * n + "\n",
                                        "text/markdown"),
    "json-statements": lambda n: _body_work(json.dumps(
        {"s": "a(); obj.password = 'x';" + " o.a = 1;" * n}), "application/json"),
}


@pytest.mark.parametrize("case", HUGE)
def test_huge_inputs_cost_linear_work(case: str) -> None:
    """Four times the input, at most five times the work (counted, not timed)."""
    small, large = (HUGE[case](n) for n in (500, 2_000))
    assert large <= 5 * small, (small, large)
