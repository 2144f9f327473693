"""Lines of ``name=value`` pairs (a ``.env``, text/plain's form), by the denylist, wherever
text holds them: a text/plain body (moved from :mod:`.body_redaction`), a JSON string
holding a line break (:func:`string_pairs`, the walk's) and a YAML scalar's lines
(:mod:`.yaml_env`).

Each line's pairs are read as a form's (``user=zoe&password=...``: ``fetch``'s string
body, an HTML form's ``enctype="text/plain"``), a line that is one pair with blanks around
its name or ``=``, or after a shell's ``export``, by its name (``password = ...``,
``export PASSWORD=...``: :func:`~.redaction_spaced.spaced_pair`), its links' queries
(``fetch('/api?password=...')``), and a denied name's quoted value over lines
(``PRIVATE_KEY="-----BEGIN ...``: :func:`~.redaction_spaced.quote_opened`) hidden to the
line closing it. A line is a pair's only from its start: ``the password= field`` names
``the password``, which no list names (prose is kept); a line commented out (``#
PASSWORD=...``) is read after its ``#``. Lines end at LF, CRLF or a lone CR, as
python-dotenv splits them. Each line read once: linear.

The same reading is given to a query's or form's value holding lines, percent-encoded
(``cfg=USER%3Dada%0APASSWORD%3D...``: :func:`field_pairs`, which
:mod:`.redaction_query` asks through the redactor), and a narrower one, a line that is
one pair alone, to a script's, Markdown's, HTML's or XML's lines (:func:`text_pairs`;
hostile45).

Until hostile42 a JSON string (``{"env": "USER=ada\\nPASSWORD=..."}``, a ConfigMap dumped
as JSON) was read as one form, its first name ``USER`` holding the rest, and a YAML
scalar (a Kubernetes Secret's ``.env: |``) not at all: both went out in clear.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_code import code_assignments, code_pairs
from readme_metrics.har.redaction_cut import hidden_members
from readme_metrics.har.redaction_marks import MARKS, escaped_redacted, redacted
from readme_metrics.har.redaction_query import link_in, linked
from readme_metrics.har.redaction_spaced import quote_opened, spaced_pair
from readme_metrics.har.yaml_lines import quote_close

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["field_pairs", "plain_pairs", "queries", "string_pairs", "text_pairs"]

#: A line's end, kept when the text is split at it.
_BREAK = lazy_compile(r"(\r\n|\r|\n)")

#: A comment's start (a shell's, a ``.env``'s, YAML's ``#``, a script's ``//``, a block
#: comment's line ``*``: hostile47): its marks and the blanks about them.
_COMMENT = lazy_compile(r"(?:[ \t\f]*(?:#|//|\*(?!/)))+[ \t\f]*")


def plain_pairs(text: str, redactor: Redactor, depth: int = 0) -> str:
    """``text`` with the values of its lines' pairs the denylist names hidden (see the
    module's docstring); ``text`` itself when none is. ``depth``: the decodings the text
    is inside (a form's value, percent-encoded: :func:`field_pairs`), which its values'
    readings go on counting."""
    parts = _BREAK.split(text)
    quote = ""  # (a denied value's quote, open since a line before)
    for at in range(0, len(parts), 2):
        line = parts[at]
        comment = _COMMENT.match(line)
        if comment is not None and not quote:
            # A pair commented out, "# PASSWORD=...": its text read as a line's
            # (hostile45: a .env's, a YAML comment's, sent in clear). It opens no quote.
            head = comment.end()
            hidden = plain_pairs(line[head:], redactor, depth) if head < len(line) else ""
            parts[at] = line[:head] + hidden
            continue
        if quote:
            parts[at], quote = _quoted_on(line, quote)
        elif "=" in line or '"' in line or "'" in line:
            # A pair spaced around its "=", "password = ...", or after "export", or its
            # value quoted: the form's reading names it "password " or "export PASSWORD"
            # (hostile33, hostile42), or ends a quoted value at its "&" ("'a&b'"): its
            # value hidden to the line's end. Else the line's pairs, a form's.
            hidden = spaced_pair(line, redactor.denies) or redactor.linked(
                line, depth, loose=True)
            # A line that is a script's, fetch('/api?password=...'), is one pair named
            # "fetch('/api?password": its links' queries are read (hostile27).
            hidden = queries(line, redactor, depth) if hidden == line else hidden
            opened = ""  # (a quote a script's statement opens: "a(); let KEY = `...")
            if hidden == line:  # (a script's statement: "a(); const PASSWORD=...", hostile48)
                code, opened = code_assignments(line, redactor.denies)
                hidden = code or line
            # (A value hidden already, "password=[REDACTED 6]": kept, not hidden again as
            # a longer mark. A text read twice, a YAML scalar's link, stays as read.)
            parts[at] = hidden if hidden == line or MARKS.sub("", hidden) != MARKS.sub(
                "", line) else line
            if "=" in line:
                quote = quote_opened(line, redactor.denies) or opened
        elif "%" in line:  # (JSON percent-encoded: its members read decoded; hostile26)
            parts[at] = hidden_members(redactor, line)
        if "/" in parts[at]:
            parts[at] = _commented_pairs(parts[at], redactor.denies)
    return "".join(parts)


def _quoted_on(line: str, quote: str) -> tuple[str, str]:
    """A line of a denied value whose ``quote`` a line before opened, hidden (its
    indentation kept: a YAML block's line), and the quote still open after it: the
    value's lines to the one closing its quote, that one whole; a heredoc's (``<<EOT``)
    to the line before its end line (hostile50)."""
    if quote[:2] == "<<":
        return (line, "") if line.strip(" \t\f") == quote[2:] else (_hidden_line(line), quote)
    closed = "'" in line if quote == "'" else quote_close(line, 0, quote) >= 0
    return _hidden_line(line), "" if closed else quote


def _hidden_line(line: str) -> str:
    """``line`` hidden, its indentation kept."""
    value = line.lstrip(" \t")
    return line[:len(line) - len(value)] + redacted(value) if value else line


def text_pairs(text: str, redactor: Redactor, markup: bool = False) -> str:
    """A text of another type (a script, Markdown, HTML, XML) with the value of each of
    its lines that is one ``.env`` pair whose name the denylist names hidden:
    ``export PASSWORD=...``, ``PASSWORD = ...``, ``PASSWORD=...`` from the line's start
    (a comment's ``#`` and blanks before it), its value to the line's end, a quoted one
    over lines to its closing quote. In ``markup``, a text between tags is a line too,
    its value ending at the next tag (``<pre>export PASSWORD=...</pre>``). Prose (``use
    export PASSWORD=x``) holds no such pair. Only these lines are read: the text's form
    pairs and queries are its type's (hostile45: a script's or an HTML page's went out
    in clear). Each line read once: linear."""
    if "=" not in text:
        return text
    parts = (_MARKUP_RUNS if markup else _BREAK).split(text)
    quote = ""
    for at in range(0, len(parts), 2):
        line = parts[at]
        if quote:
            parts[at], quote = _quoted_on(line, quote)
            continue
        if "=" not in line:
            continue
        if "/" in line:
            # (A comment's pair first: " PASSWORD=... */ run();" ends at its "*/".)
            commented = _commented_pairs(line, redactor.denies)
            if commented is not line:
                parts[at] = commented
                continue
        comment = _COMMENT.match(line)
        head = 0 if comment is None else comment.end()
        hidden = spaced_pair(line[head:], redactor.denies, bare=True)
        if hidden is not None and MARKS.sub("", hidden) != MARKS.sub("", line[head:]):
            parts[at] = line[:head] + hidden
            quote = "" if head else quote_opened(line, redactor.denies)
        else:  # (a statement within the line: "a(); const PASSWORD=...", hostile48)
            code, quote = code_assignments(line, redactor.denies)
            parts[at] = code or line
    hidden = "".join(parts)
    # (A script's line in HTML read whole too: a tag's reading parts "const password:
    # Secret<string> = ..." or "if (a < b) { let password = ...} if (c > d)"; hostile49.)
    return _tagged_code(hidden, redactor.denies) if markup and "<" in hidden else hidden


def _tagged_code(text: str, denies: Callable[[str], bool]) -> str:
    """A markup ``text`` with the values of the assignments each line holds read whole,
    its tags and the brackets of its code in it (:func:`code_assignments`), hidden (a
    quote left open: to the line closing it), where its runs between tags hid none."""
    parts = _BREAK.split(text)
    quote = ""
    for at in range(0, len(parts), 2):
        line = parts[at]
        if quote:
            parts[at], quote = _quoted_on(line, quote)
        elif "=" in line and "<" in line:
            code, quote = code_assignments(line, denies)
            parts[at] = code or line
    return "".join(parts)


def _commented_pairs(line: str, denies: Callable[[str], bool]) -> str:
    """``line`` with the value of the one ``.env`` pair a comment in it holds hidden when
    ``denies`` names it: a C-style comment's (``/* PASSWORD=... */``, to its ``*/`` or
    the line's end; the text before a ``*/`` closing one a line before opened) and a
    ``//`` one after a blank (``f(); // PASSWORD=...``, to the line's end; a URL's
    ``://`` is none). Sent in clear before (hostile47): the form's reading named the
    pair ``/* PASSWORD``. The line's marks found in one pass: linear."""
    if "/*" not in line and "*/" not in line and "//" not in line:
        return line
    out: list[str] = []
    at = 0  # (the line up to here is in out)
    opened = 0  # (where the open comment's text starts; -1: none open)
    first = True
    for mark in _C_MARKS.finditer(line):
        token = mark.group()
        if first and token != "*/":
            opened = -1  # (no "*/" first: no comment open from a line before)
        first = False
        if opened >= 0:
            if token == "*/":
                out += line[at:opened], _comment_pair(line[opened:mark.start()], denies)
                at, opened = mark.start(), -1
        elif token == "/*":
            opened = mark.end()
        elif token == "//":
            opened = mark.end()
            break  # (to the line's end)
    if first:
        return line  # (no mark: "http://...", "a//b")
    if opened >= 0:
        out += line[at:opened], _comment_pair(line[opened:], denies)
        at = len(line)
    out.append(line[at:])
    hidden = "".join(out)
    return line if MARKS.sub("", hidden) == MARKS.sub("", line) else hidden


#: A C-style comment's marks, and a ``//`` comment's start (at the line's start or after
#: a blank or ``;``).
_C_MARKS = lazy_compile(r"/\*|\*/|(?:^|(?<=[ \t\f;]))//")


def _comment_pair(text: str, denies: Callable[[str], bool]) -> str:
    """A comment's ``text`` with the value of the one pair it is (its marks and blanks
    first) hidden when ``denies`` names it; ``text`` itself otherwise."""
    if "=" not in text:
        return text
    comment = _COMMENT.match(text)
    head = 0 if comment is None else comment.end()
    hidden = spaced_pair(text[head:], denies, bare=True)
    return text if hidden is None else text[:head] + hidden


#: A markup text's lines and the tags parting them (their text's, each tag one line's
#: end): a tag runs to its ">" on its line, or is no tag. A processing instruction
#: (``<?php $password = '...'; ?>``: hostile48) is text.
_MARKUP_RUNS = lazy_compile(r"(\r\n|\r|\n|<(?!\?)[^<>\r\n]*>)")


def string_pairs(redactor: Redactor, node: Any, at: Any, text: str, depth: int = 0) -> bool:
    """Redact ``node[at]``, a JSON string holding a ``=`` or ``%``, by the denylist; True
    when it changed. One holding a line break is read as text/plain's lines are
    (:func:`plain_pairs`: a ``.env``, an HTML form's text/plain body in an API Gateway
    event); any other as a URL or a form (:func:`~.redaction_query.link_in`)."""
    if "\n" not in text and "\r" not in text:
        # (One line that is a spaced or exported pair, "export PASSWORD=...", "PASSWORD =
        # ...": the form's reading names it "export PASSWORD" or "PASSWORD "; hostile47's
        # YAML fuzz, flow style that is JSON.)
        spaced = spaced_pair(text, redactor.denies)
        if spaced is None:
            if link_in(redactor, node, at, text, depth):
                return True
            # (A script's statement, "<?php $password = '...'; ?>", "a(); obj.password =
            # '...'": read as a text/plain line's is; hostile49.)
            spaced = code_pairs(text, redactor.denies)
            if spaced is None:
                return False
        node[at] = spaced
        return True
    hidden = field_pairs(redactor, text)
    if hidden == text:
        return False
    node[at] = hidden
    return True


def field_pairs(redactor: Redactor, text: str, depth: int = 0) -> str:
    """``text`` (a JSON string's, a multipart field's, a query's or a form's value
    percent-decoded: ``cfg=USER%3Dx%0APASSWORD%3D...``) with its pairs' denied values
    hidden: text/plain's lines for one holding a line break, else a URL's or a form's
    (:func:`~.redaction_query.linked`). ``depth``: the decodings it is inside."""
    if "\n" not in text and "\r" not in text:
        return linked(redactor, text, depth)
    return plain_pairs(text, redactor, depth) if redactor.names_key_decoded(text) else text


#: A URL's query (its fragment too) in a text: from its ``?`` to the first blank, quote,
#: ``<``, ``>`` or backtick, which end a link in HTML, XML, Markdown and scripts.
_QUERY = re.compile(r"""\?[^\s"'<>`]*""")
#: The same in YAML, where a ``,``, ``]`` or ``}`` ends a plain scalar in a flow
#: collection (``[https://x/?password=s, other]``: the value read as ``s,``, then the
#: item after it hidden with it or the ``]`` swallowed; hostile47), and a ``:`` before a
#: blank a key (``https://x/?password=s: 1``: its ``:`` was hidden, no YAML). In a block
#: scalar the rest of such a query is read with its line (:mod:`.yaml_env`).
_YAML_QUERY = re.compile(r"""\?(?:[^\s"'<>`,\]}:]+|:(?!\s|\Z))*""")

#: An empty value as :func:`queries` hides it.
_EMPTY_HIDDEN = escaped_redacted("")


def queries(text: str, redactor: Redactor, depth: int = 0, yaml: bool = False) -> str:
    """``text`` with the value of each pair a denied key names in a link's query redacted
    as the logged URL's are (:meth:`Redactor.linked`: ``<a href="/reset?token=...">``,
    HTML's ``&amp;`` read as ``;``, which starts a pair too), as a text/plain line's are;
    ``text`` itself when none is (hostile26: an HTML or XML body sent it in clear).
    ``yaml``: a query also ends at a flow collection's ``,``, ``]`` or ``}``."""
    if "?" not in text:
        return text
    out: list[str] = []
    at = 0
    for found in (_YAML_QUERY if yaml else _QUERY).finditer(text):
        link = found.group()
        hidden = redactor.linked(link, depth) if "=" in link and (
            redactor.names_key_decoded(link)) else link
        if hidden.replace(_EMPTY_HIDDEN, "") == link:
            # Only empty values hidden: a script's fetch('/api?password=' + secret)
            # holds none, its source is kept as written (hostile27).
            hidden = link
        if hidden != link:
            out += text[at:found.start()], hidden
            at = found.end()
    if not out:
        return text
    out.append(text[at:])
    return "".join(out)
