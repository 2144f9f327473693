"""Text formats whose key is followed by a blank, by the denylist (hostile28): a
``.netrc`` (``machine api.example.com login ada password ...``) and a Java ``.properties``
file (``password hunter2``, ``password\\thunter2``, ``db.password = ...``). Each is read
only where the body is one: a netrc starts with ``machine`` or ``default`` and every
token in key position is a netrc keyword; a properties file is declared
(``text/x-java-properties``) or every line of it is a comment or ``key value``, one word
for the value (``the password is wrong`` is prose: its value has blanks). Pure functions
over the text, linear in it; ``None`` when the body is no such file or nothing is hidden.
"""

from __future__ import annotations

from typing import Callable, Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction import redacted

__all__ = ["PROPERTIES", "netrc_redacted", "properties_redacted"]

#: The types a properties file is declared as.
PROPERTIES = frozenset({"text/x-java-properties", "text/x-properties"})

# A netrc token: in double quotes (its backslash escapes, as Python's netrc reads them)
# or up to the next blank.
_NETRC_TOKEN = lazy_compile(r'"(?:[^"\\]|\\.)*"?|\S+')
# Keywords that take a value, and the one that takes none.
_NETRC_VALUED = frozenset({"machine", "login", "password", "account"})
_NETRC_DEFAULT = "default"
_MACDEF = "macdef"


def netrc_redacted(text: str, denies: Callable[[str], bool]) -> Optional[str]:
    """A netrc's ``text`` with the value after each keyword ``denies`` names hidden
    (``password``, ``login`` when denied); ``None`` when it is no netrc (its first token
    not ``machine`` or ``default``, or a token in key position no keyword: ``machine
    learning makes ...``) or nothing is hidden. A ``#`` token starts a comment to the
    end of its line; a ``macdef`` runs to the next blank line."""
    out: list[str] = []
    kept = 0
    skip_to = 0  # tokens before this are in a comment or a macro
    expect = "key"  # "key", "value" or "hide"
    first = True
    for token in _NETRC_TOKEN.finditer(text):
        if token.start() < skip_to:
            continue
        word = token.group()
        if expect == "key":
            if word.startswith("#"):
                line_end = text.find("\n", token.start())
                skip_to = len(text) if line_end < 0 else line_end
                continue
            if first and word not in ("machine", _NETRC_DEFAULT):
                return None
            first = False
            if word == _NETRC_DEFAULT:
                continue
            if word == _MACDEF:
                blank = text.find("\n\n", token.end())
                skip_to = len(text) if blank < 0 else blank
                continue
            if word not in _NETRC_VALUED:
                return None
            expect = "hide" if denies(word) else "value"
        else:
            if expect == "hide":
                out += text[kept:token.start()], redacted(word)
                kept = token.end()
            expect = "key"
    if not out:
        return None
    out.append(text[kept:])
    return "".join(out)


# A properties line as Java reads it: its key (backslash escapes in it), the separator
# (blanks, or one "=" or ":" with blanks about it), the value to the line's end.
_PROPERTY = lazy_compile(
    r"[ \t\f]*((?:[^\s=:\\]|\\.)+)([ \t\f]*[=:][ \t\f]*|[ \t\f]+)([^\r\n]*)")
# A line of a body not declared a properties file: a comment, blank, or a key of name
# characters, then blanks and one word (the key then blanks only: ``password`` alone).
_PLAIN_LINE = lazy_compile(
    r"[ \t\f]*(?:[#!][^\n]*|[\w.\-]+(?:[ \t\f]*[=:][^\n]*|[ \t\f]+[^\s]+[ \t\f]*\r?)|\r?)")


def properties_redacted(text: str, denies: Callable[[str], bool],
                        declared: bool) -> Optional[str]:
    """A properties file's ``text`` with the value of each key ``denies`` names hidden
    (its last dotted part too: ``db.password``), a value continued on the next lines by a
    ``\\`` at its end hidden with them; ``None`` when nothing is. Not ``declared``: the
    body is one only when every line is (:data:`_PLAIN_LINE`), and only the values after
    a blank separator are read here (``password=...`` lines are text/plain's pairs;
    ``password: ...`` is kept as in any text not typed YAML)."""
    lines = text.split("\n")
    if not declared and not all(_PLAIN_LINE.fullmatch(line) for line in lines):
        return None
    out: list[str] = []
    hidden = False
    at = 0
    while at < len(lines):
        line = lines[at]
        found = None if line.lstrip()[:1] in ("#", "!", "") else _PROPERTY.match(line)
        first = at
        at += 1
        while found is not None and at < len(lines) and _continued(lines[at - 1]):
            at += 1  # (the value goes on: its lines are read with it)
        if found is None or not declared and found.group(2).strip() or not _denied(
                found.group(1), denies):
            out += lines[first:at]
            continue
        end = "\r" if lines[at - 1].endswith("\r") else ""
        whole = "\n".join([line[found.start(3):]] + lines[first + 1:at])
        out.append(line[:found.start(3)] + redacted(whole[:len(whole) - len(end)]) + end)
        hidden = True
    return "\n".join(out) if hidden else None


def _denied(key: str, denies: Callable[[str], bool]) -> bool:
    """Whether a properties key is denied, or its last dotted part (``db.password``)."""
    return denies(key) or "." in key and denies(key.rsplit(".", 1)[1])


def _continued(line: str) -> bool:
    """Whether a properties line goes on to the next: an odd run of ``\\`` at its end."""
    stripped = line.rstrip("\r")
    return (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1
