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
``the password``, which no list names (prose is kept). Lines end at LF, CRLF or a lone CR,
as python-dotenv splits them. Each line read once: linear.

Until hostile42 a JSON string (``{"env": "USER=ada\\nPASSWORD=..."}``, a ConfigMap dumped
as JSON) was read as one form, its first name ``USER`` holding the rest, and a YAML
scalar (a Kubernetes Secret's ``.env: |``) not at all: both went out in clear.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_cut import hidden_members
from readme_metrics.har.redaction_marks import MARKS, escaped_redacted, redacted
from readme_metrics.har.redaction_query import link_in, linked
from readme_metrics.har.redaction_spaced import quote_opened, spaced_pair
from readme_metrics.har.yaml_lines import quote_close

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["field_pairs", "plain_pairs", "queries", "string_pairs"]

#: A line's end, kept when the text is split at it.
_BREAK = lazy_compile(r"(\r\n|\r|\n)")


def plain_pairs(text: str, redactor: Redactor) -> str:
    """``text`` with the values of its lines' pairs the denylist names hidden (see the
    module's docstring); ``text`` itself when none is."""
    parts = _BREAK.split(text)
    quote = ""  # (a denied value's quote, open since a line before)
    for at in range(0, len(parts), 2):
        line = parts[at]
        if quote:
            # (The value's lines to the one closing its quote, that one whole.)
            closed = "'" in line if quote == "'" else quote_close(line, 0, '"') >= 0
            value = line.lstrip(" \t")  # (its indentation kept: a YAML block's line)
            if value:
                parts[at] = line[:len(line) - len(value)] + redacted(value)
            quote = "" if closed else quote
        elif "=" in line or '"' in line or "'" in line:
            # A pair spaced around its "=", "password = ...", or after "export", or its
            # value quoted: the form's reading names it "password " or "export PASSWORD"
            # (hostile33, hostile42), or ends a quoted value at its "&" ("'a&b'"): its
            # value hidden to the line's end. Else the line's pairs, a form's.
            hidden = spaced_pair(line, redactor.denies) or redactor.linked(line, loose=True)
            # A line that is a script's, fetch('/api?password=...'), is one pair named
            # "fetch('/api?password": its links' queries are read (hostile27).
            hidden = queries(line, redactor) if hidden == line else hidden
            # (A value hidden already, "password=[REDACTED 6]": kept, not hidden again as
            # a longer mark. A text read twice, a YAML scalar's link, stays as read.)
            parts[at] = hidden if hidden == line or MARKS.sub("", hidden) != MARKS.sub(
                "", line) else line
            if "=" in line:
                quote = quote_opened(line, redactor.denies)
        elif "%" in line:  # (JSON percent-encoded: its members read decoded; hostile26)
            parts[at] = hidden_members(redactor, line)
    return "".join(parts)


def string_pairs(redactor: Redactor, node: Any, at: Any, text: str, depth: int = 0) -> bool:
    """Redact ``node[at]``, a JSON string holding a ``=`` or ``%``, by the denylist; True
    when it changed. One holding a line break is read as text/plain's lines are
    (:func:`plain_pairs`: a ``.env``, an HTML form's text/plain body in an API Gateway
    event); any other as a URL or a form (:func:`~.redaction_query.link_in`)."""
    if "\n" not in text and "\r" not in text:
        return link_in(redactor, node, at, text, depth)
    hidden = field_pairs(redactor, text)
    if hidden == text:
        return False
    node[at] = hidden
    return True


def field_pairs(redactor: Redactor, text: str) -> str:
    """``text`` (a JSON string's, a multipart field's) with its pairs' denied values
    hidden: text/plain's lines for one holding a line break, else a URL's or a form's
    (:func:`~.redaction_query.linked`)."""
    if "\n" not in text and "\r" not in text:
        return linked(redactor, text)
    return plain_pairs(text, redactor) if redactor.names_key_decoded(text) else text


#: A URL's query (its fragment too) in a text: from its ``?`` to the first blank, quote,
#: ``<``, ``>`` or backtick, which end a link in HTML, XML, Markdown and scripts.
_QUERY = re.compile(r"""\?[^\s"'<>`]*""")

#: An empty value as :func:`queries` hides it.
_EMPTY_HIDDEN = escaped_redacted("")


def queries(text: str, redactor: Redactor) -> str:
    """``text`` with the value of each pair a denied key names in a link's query redacted
    as the logged URL's are (:meth:`Redactor.linked`: ``<a href="/reset?token=...">``,
    HTML's ``&amp;`` read as ``;``, which starts a pair too), as a text/plain line's are;
    ``text`` itself when none is (hostile26: an HTML or XML body sent it in clear)."""
    if "?" not in text:
        return text
    out: list[str] = []
    at = 0
    for found in _QUERY.finditer(text):
        link = found.group()
        hidden = redactor.linked(link) if "=" in link and (
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
