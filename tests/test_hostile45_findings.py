"""hostile45: a ``.env``'s denied values that still went out in clear through odd
encodings, after hostile42 and hostile44.

1. A ``.env`` percent-encoded in a query's or a form's value
   (``?cfg=USER%3Dada%0APASSWORD%3D...``, ``+`` for a blank, encoded twice, its ``=``
   as sent, its lines' breaks as sent in a form) was read as one form, its first name
   holding the rest: a password on any line but the first went out, where the same
   text in a JSON string was hidden. Now read as a JSON string's is (``env_lines``),
   written back percent-encoded.
2. A YAML flow collection's items (``env: [USER=ada, PASSWORD=...]``, ``{a:
   "PASSWORD=..."}``), a YAML comment (``# PASSWORD=...``, after a value too) and an
   explicit key's flow collection over lines (``? [USER=ada,`` then ``PASSWORD=...]``,
   whose second line was read as a plain scalar, its ``]`` hidden with the value: no
   YAML) went out in clear; and with an allowlist, a flow-style YAML document went out
   whole (hostile36 read it by the denylist, before the allowlist's check).
3. ``export PASSWORD=...`` (or ``PASSWORD=...``) on a line of an HTML page, a script,
   Markdown or XML: only text/plain's lines were read.
"""

from __future__ import annotations

import json
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pytest
import yaml

from readme_metrics.har.bodies import post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.work_count import text_work

DENY = Redactor(["password"])
#: The denylist with an allowlist naming the field: the field's value is kept, the
#: denylist's values in it hidden (SPEC section 6).
BOTH = Redactor(["password"], ["cfg", "env", "a"])
#: An allowlist alone: what it does not list is hidden whole.
ALLOW = Redactor(allowlist=["user"])
ENV = f"USER=ada\nPASSWORD={SECRET}\nHOST=db\n"
FORM = "application/x-www-form-urlencoded"


# 1. A .env percent-encoded in a query's or a form's value ----------------------------

VALUES = {
    "encoded": quote(ENV, safe=""),
    "plus": quote_plus(ENV),
    "twice": quote(quote(ENV, safe=""), safe=""),
    "crlf": quote(ENV.replace("\n", "\r\n"), safe=""),
    "lone-cr": quote(ENV.replace("\n", "\r"), safe=""),
    "equals-as-sent": ENV.replace("\n", "%0A"),
    "export-plus": quote_plus(ENV.replace("PASSWORD", "export PASSWORD")),
    "spaced": quote_plus(ENV.replace("PASSWORD=", "PASSWORD = ")),
    "commented": quote(ENV.replace("PASSWORD", "# PASSWORD"), safe=""),
    "quoted-amp": quote(ENV.replace(f"={SECRET}", f"='a&{SECRET}'"), safe=""),
}


def _form(raw: str, redactor: Redactor) -> dict[str, str]:
    """A form body's fields as logged."""
    body = raw.encode()
    record = post_data(body, len(body), {"content-type": FORM, RAW_CONTENT_TYPE: FORM},
                       redactor, 1 << 20)
    return {param["name"]: param["value"] for param in record["params"]}


def _query(raw: str, redactor: Redactor) -> dict[str, str]:
    """A URL's query fields as logged, decoded as the app decodes them."""
    url = redactor.url(f"https://api.example.com/v1/config?{raw}")
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


@pytest.mark.parametrize("redactor", [DENY, BOTH], ids=["deny", "deny-allow"])
@pytest.mark.parametrize("where", ["query", "form"])
@pytest.mark.parametrize("case", VALUES)
def test_a_dot_env_percent_encoded_in_a_value_is_hidden(case: str, where: str,
                                                        redactor: Redactor) -> None:
    raw = f"a=1&cfg={VALUES[case]}&b=2"
    fields = (_query if where == "query" else _form)(raw, redactor)
    value = fields["cfg"]
    while "%0A" in value or "%0D" in value:  # (encoded twice: the app decodes again)
        value = value.replace("%0A", "\n").replace("%0D", "\r").replace("%3D", "=")
    assert SECRET not in json.dumps(fields), fields
    assert "REDACTED" in value
    # (Its other lines kept: the first name no longer holds the rest.)
    assert "USER=ada" in value and "HOST=db" in value, value


def test_a_form_whose_lines_are_sent_as_they_are_is_hidden() -> None:
    """A form body whose value holds its line breaks unencoded (``requests.post(data=
    "cfg=" + dotenv)``), as werkzeug reads it."""
    fields = _form(f"a=1&cfg={ENV}&b=2", DENY)
    assert SECRET not in json.dumps(fields)
    assert fields["cfg"].startswith("USER=ada\nPASSWORD=") and fields["b"] == "2"


@pytest.mark.parametrize("case", ["encoded", "plus", "equals-as-sent"])
def test_the_same_in_a_json_string_is_hidden(case: str) -> None:
    """A JSON string holding the value as the query has it (a webhook's raw query)."""
    for text in bodies_logged(json.dumps({"query": f"cfg={VALUES[case]}"}).encode(),
                              "application/json", DENY):
        assert SECRET not in text and "REDACTED" in text


def test_an_allowlist_alone_hides_the_value_whole() -> None:
    """(Passed before: a field the allowlist does not list is hidden whole.)"""
    assert _query(f"cfg={VALUES['encoded']}", ALLOW) == {"cfg": f"[REDACTED {len(ENV)}]"}


# 2. YAML: flow collections, comments, an explicit key over lines ---------------------

YAML_LEAKS = {
    "flow-sequence": f"env: [USER=ada, PASSWORD={SECRET}, HOST=db]\n",
    "flow-over-lines": f"env: [USER=ada,\n  PASSWORD={SECRET},\n  HOST=db]\n",
    "flow-quoted": f"env: [\"USER=ada\", 'PASSWORD={SECRET}', \"HOST=db\"]\n",
    "flow-double-lines": f'env: ["USER=ada\\nPASSWORD={SECRET}\\nHOST=db"]\n',
    "flow-mapping": f'{{a: "USER=ada", b: "PASSWORD={SECRET}", c: HOST=db}}\n',
    "flow-mapping-plain": f"cfg: {{a: USER=ada, b: PASSWORD={SECRET}, c: HOST=db}}\n",
    "flow-item": f"- [USER=ada, export PASSWORD={SECRET}, HOST=db]\n",
    "flow-nested": f"env: {{list: [USER=ada, [PASSWORD={SECRET}]], h: HOST=db}}\n",
    "flow-tagged": f"env: [USER=ada, !!str PASSWORD={SECRET}, &p HOST=db]\n",
    "flow-plain-folded": f"env: [USER=ada, PASSWORD={SECRET}\n   {SECRET}, HOST=db]\n",
    "comment-line": f"user: USER=ada\n# PASSWORD={SECRET}\nhost: HOST=db\n",
    "comment-indented": f"db:\n  user: USER=ada\n  #PASSWORD={SECRET}\n  host: HOST=db\n",
    "comment-after-value": f"user: USER=ada  # PASSWORD={SECRET}\nhost: HOST=db\n",
    "comment-after-quoted": f"user: 'USER=ada' # PASSWORD={SECRET}\nhost: HOST=db\n",
    "comment-after-key": f"db: # PASSWORD={SECRET}\n  user: USER=ada\n  h: HOST=db\n",
    "comment-after-block": f"env: |  # PASSWORD={SECRET}\n  USER=ada\n  HOST=db\n",
    "comment-in-flow": f"env: [USER=ada, # PASSWORD={SECRET}\n  HOST=db]\n",
    "comment-after-flow": f"env: [USER=ada, HOST=db] # PASSWORD={SECRET}\n",
    "explicit-key-lines": f"? [USER=ada,\n   PASSWORD={SECRET}, HOST=db]\n: v\n",
    "explicit-key-line": f"? [USER=ada, PASSWORD={SECRET}, HOST=db]\n: v\n",
    "explicit-key-mapping": f"? {{a: USER=ada,\n   b: PASSWORD={SECRET}, c: HOST=db}}\n: v\n",
    "explicit-value-lines": f"? [k]\n: [USER=ada,\n   PASSWORD={SECRET}, HOST=db]\n",
}


def _events(text: str) -> list[str]:
    """The YAML's scalars as a parser reads them (a complex key, which PyYAML's loader
    refuses as a dict's key, is read so too)."""
    return [event.value for event in yaml.parse(text) if isinstance(event, yaml.ScalarEvent)]


@pytest.mark.parametrize("case", YAML_LEAKS)
def test_a_dot_env_in_yaml_flow_items_and_comments_is_hidden(case: str) -> None:
    body = YAML_LEAKS[case]
    _events(body)  # (the case is YAML)
    for text in bodies_logged(body.encode(), "application/yaml", DENY):
        assert SECRET not in text, text
        assert "REDACTED" in text, text
        scalars = "\n".join(_events(text))  # (still YAML, the other lines kept)
        for kept in ("USER=ada", "HOST=db"):
            assert kept in scalars or kept in text, (kept, text)


@pytest.mark.parametrize("style", [{"default_style": '"'},
                                   {"default_style": '"', "default_flow_style": True}],
                         ids=["block", "flow"])
def test_a_double_quoted_scalar_folded_with_escapes_is_read_as_yaml_reads_it(
        style: dict[str, Any]) -> None:
    """PyYAML's narrow dump of a ``.env`` line after blanks or ``export``: its lines
    folded, a ``\\`` ending one and ``\\ `` for a blank (``"export\\`` then ``  \\
    PASSWORD=..."``), which the reading with ``\\n`` as a break alone did not read."""
    for env in (f"USER=ada\nexport PASSWORD={SECRET}\nHOST=db",
                f"USER=ada\n   PASSWORD={SECRET}\nHOST=db"):
        body = yaml.safe_dump({"env": env}, width=20, **style)
        assert "\\\n" in body  # (the case is one: a line ending in an escape)
        for text in bodies_logged(body.encode(), "application/yaml", DENY):
            assert SECRET not in text, text
            assert isinstance(yaml.safe_load(text)["env"], str)


@pytest.mark.parametrize("redactor", [BOTH, ALLOW], ids=["deny-allow", "allow"])
@pytest.mark.parametrize("case", ["flow-mapping", "comment-line", "flow-sequence"])
def test_with_an_allowlist_yaml_is_hidden_whole(case: str, redactor: Redactor) -> None:
    """A YAML body is no key/value data an allowlist reads: hidden whole, in flow style
    too (``{a: "USER=ada", ...}`` went out as sent, hostile36's reading by the
    denylist taken before the allowlist's check)."""
    for text in bodies_logged(YAML_LEAKS[case].encode(), "application/yaml", redactor):
        assert text == f"[REDACTED {len(YAML_LEAKS[case])}]"


def test_an_allowlisted_flow_document_keeps_nothing_in_clear() -> None:
    for text in bodies_logged(f"{{user: ada, a: {SECRET}}}\n".encode(), "application/yaml", ALLOW):
        assert SECRET not in text


# 3. .env lines in HTML, scripts, Markdown, XML ----------------------------------------

TEXT_LEAKS = {
    "html-script": ("text/html",
                    f"<html><script>\nUSER=ada\nexport PASSWORD={SECRET}\n</script></html>"),
    "html-pre": ("text/html", f"<pre>export PASSWORD={SECRET}</pre><p>USER=ada</p>"),
    "html-code-lines": ("text/html",
                        f"<pre><code>USER=ada\nPASSWORD={SECRET}\nHOST=db</code></pre>"),
    "html-indented": ("text/html", f"<pre>\n    export PASSWORD = {SECRET}\n</pre>"),
    "html-crlf": ("text/html", f"<pre>\r\nexport PASSWORD={SECRET}\r\n</pre>"),
    "xml": ("application/xml", f"<env>\nexport PASSWORD={SECRET}\n</env>"),
    "javascript": ("application/javascript", f"// set up\nexport PASSWORD={SECRET}\n"),
    "shell": ("application/x-sh", f"#!/bin/sh\nexport PASSWORD={SECRET}\nmake\n"),
    "shell-comment": ("text/x-shellscript", f"#!/bin/sh\n# PASSWORD={SECRET}\n"),
    "markdown": ("text/markdown", f"# Set-up\n\n    export PASSWORD={SECRET}\n"),
    "quoted-over-lines": ("application/x-sh",
                          f'export PASSWORD="-----BEGIN\n{SECRET}\n-----END"\nmake\n'),
}


@pytest.mark.parametrize("case", TEXT_LEAKS)
def test_a_dot_env_line_in_html_or_a_script_is_hidden(case: str) -> None:
    mime, body = TEXT_LEAKS[case]
    for text in bodies_logged(body.encode(), mime, DENY):
        assert SECRET not in text, text
        assert "PASSWORD" in text and "REDACTED" in text, text
        # (The markup and the other lines as sent.)
        assert text.replace(f"[REDACTED {len(SECRET)}]", SECRET) == body or (
            case == "quoted-over-lines"), text


# 4. What is kept ------------------------------------------------------------------------

KEPT = {
    "html-prose": ("text/html", "<p>Run export PASSWORDS=x or set the password= field</p>"),
    "html-attribute": ("text/html", '<a title="password=">the password</a>'),
    "html-no-pair": ("text/html", "<pre>\nexport PATH=/bin\npassword\n</pre>"),
    "script-other-names": ("application/x-sh", "export PASSWORD_HINT=pet\nPASSWORDS=1\n"),
    "yaml-flow": ("application/yaml", "env: [USER=ada, HOST=db] # the password is set\n"),
    "yaml-comment": ("application/yaml", "# the password= field below\nuser: ada\n"),
    "form-value": (FORM, "cfg=USER%3Dada%0AHOST%3Ddb&password_hint=pet"),
}


@pytest.mark.parametrize("case", KEPT)
def test_prose_and_other_names_are_kept(case: str) -> None:
    mime, body = KEPT[case]
    if mime == FORM:
        assert _form(body, DENY) == dict(parse_qsl(body))
    else:
        assert kept_as_sent(body.encode(), mime, DENY)


# 5. Through a real Flask app and the collector ------------------------------------------

@pytest.mark.parametrize("body, mime", [
    (f"cfg={VALUES['plus']}", FORM),
    (YAML_LEAKS["flow-over-lines"] + YAML_LEAKS["comment-line"].replace("USER", "U"),
     "application/yaml"),
    (TEXT_LEAKS["html-script"][1], "text/html"),
], ids=["form-and-query", "yaml", "html"])
def test_through_a_flask_app_and_the_collector(collector: Collector, body: str,
                                               mime: str) -> None:
    log = logged_echo(collector, body, mime, query=f"cfg={VALUES['encoded']}")
    sent = json.dumps(log)
    assert SECRET not in sent
    entry = log["request"]["log"]["entries"][0]
    assert "USER%3Dada" in entry["request"]["url"]
    assert "USER=ada" in sent.replace("\\n", "\n")


# 6. Cost: linear, counted (tests/support/work_count.py) -------------------------------

def _query_work(raw: str) -> int:
    DENY.url(f"https://x/?{raw}")  # (regexes compiled)
    return text_work(lambda: DENY.url(f"https://x/?{raw}"))


def _body_work(body: str, mime: str) -> int:
    data = body.encode()
    post_data(data, len(data), {"content-type": mime}, DENY, 1 << 24)
    return text_work(lambda: post_data(data, len(data), {"content-type": mime}, DENY,
                                       1 << 24))


HUGE: dict[str, Callable[[int], int]] = {
    "query-lines": lambda n: _query_work(
        "cfg=" + quote("PASSWORD=x\n" + "A=1\n" * n, safe="")),
    "query-twice": lambda n: _query_work(
        "cfg=" + quote(quote("PASSWORD=x\n" + "A=1\n" * n, safe=""), safe="")),
    "query-nested-breaks": lambda n: _query_work(
        "password=1&cfg=" + "%25" * n + "0A%3D" * n),
    "form-raw-lines": lambda n: _body_work("cfg=PASSWORD=x\n" + "A=1\n" * n, FORM),
    "yaml-flow": lambda n: _body_work(
        "env: [PASSWORD=x" + ",\n  A=1" * n + "]\n", "application/yaml"),
    "yaml-flow-open": lambda n: _body_work(
        "env: [PASSWORD=x, " + "[A=1, " * n + "\n", "application/yaml"),
    # (After a key: a comment first is read as a netrc's, whose line ends text_work
    # counts as the text's length each, though each is found from the comment on.)
    "yaml-comments": lambda n: _body_work("a: 1\n# PASSWORD=x\n" + "# A=1\n" * n,
                                          "application/yaml"),
    "html-lines": lambda n: _body_work("<pre>password=x" + "<b>A=1</b>\n" * n, "text/html"),
    "html-open-tags": lambda n: _body_work("password=x " + "<a=b " * n, "text/html"),
    "script-quote-open": lambda n: _body_work(
        'export PASSWORD="x\n' + "A=1\n" * n, "application/x-sh"),
}


@pytest.mark.parametrize("case", HUGE)
def test_huge_inputs_cost_linear_work(case: str) -> None:
    """Four times the input, at most five times the work (counted, not timed)."""
    small, large = (HUGE[case](n) for n in (500, 2_000))
    assert large <= 5 * small, (small, large)

