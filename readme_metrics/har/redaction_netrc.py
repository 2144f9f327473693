"""A ``.netrc`` (``machine api.example.com login ada password ...``) with the values its
denied keywords name hidden, by the denylist (hostile28; out of :mod:`.redaction_spaced`,
whose other text formats' keys are followed by a blank too). Read only where the body is
one: it starts with ``machine`` or ``default`` and every token in key position is a netrc
keyword. A pure function over the text, linear in it; ``None`` when the body is no netrc
or nothing is hidden.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.redaction_spaced import CHUNK, escaped_close

__all__ = ["netrc_redacted"]

# A netrc token's start: a double quote (the token runs to the closing one, its
# backslash escapes read as Python's netrc reads them), or a token up to the next blank.
_NETRC_TOKEN = lazy_compile(r'"|\S+')
# An escaped character in a quoted token.
_ESCAPED = lazy_compile(r"\\(.)", re.DOTALL)
# The blank line that ends a macdef's macro, its line ends LF or CRLF (Windows' _netrc).
_BLANK_LINE = lazy_compile(r"\n\r?\n")
# Keywords that take a value, and the one that takes none.
_NETRC_VALUED = frozenset({"machine", "login", "password", "account"})
_NETRC_DEFAULT = "default"
# The keywords a machine's entry holds both of in a netrc whose unknown tokens are skipped.
_NETRC_PAIR = frozenset({"login", "password"})
# Keywords other readers know (ftp clients' port and protocol), each taking a value.
_NETRC_FOREIGN = frozenset({"port", "protocol"})
# The rest of a line after a stray word: blanks only.
_LINE_REST = lazy_compile(r"[ \t\r\f\v]*(?:\n|\Z)")
_MACDEF = "macdef"


def netrc_redacted(text: str, denies: Callable[[str], bool]) -> Optional[str]:
    """A netrc's ``text`` with the value after each keyword ``denies`` names hidden
    (``password``, ``login`` when denied); ``None`` when it is no netrc (its first token
    not ``machine`` or ``default``, or a token in key position no keyword, ``machine
    learning makes ...``, in a body where no machine has both a ``login`` and a
    ``password``) or nothing is hidden. A ``macdef`` may come first (an ftp init macro
    before the first machine), and a keyword may be quoted (``"password"``), as curl and
    Python's netrc read them (review122). A ``#`` token starts a comment to the end of its
    line; a ``macdef`` runs to the next blank line. Keywords in any case (``MACHINE ...
    PASSWORD``, as curl reads them; review117). Other readers' keywords (``port 21``,
    ``protocol ftp``) and a stray word ending its line are skipped, as curl skips them,
    where a machine has both its login and password (hostile30: the body was no netrc,
    its password sent in clear); a word followed by more on its line is prose."""
    done: list[str] = []  # (the text so far, joined a chunk at a time)
    out: list[str] = []
    kept = 0
    skip_to = 0  # tokens before this are in a comment or a macro
    expect = "key"  # "key", "value" or "hide"
    first = True
    unknown = False  # a token in key position was no keyword
    entry: set[str] = set()  # the keywords of the machine read (login, password)
    whole = False  # a machine had both: a netrc's structure
    for token in _NETRC_TOKEN.finditer(text):
        start = token.start()
        if start < skip_to:
            continue
        end = token.end() if token.group() != '"' else _quoted_end(text, token.end())
        skip_to = end  # (a quoted token's blanks and the tokens in it are its own)
        word = text[start:end]
        if expect == "key":
            # (A keyword in quotes is that keyword, as curl and Python's netrc read a
            # quoted token: "password" ...; review122.)
            word = (_unquoted(word) if text[start] == '"'
                    else word).lower()
            if word.startswith("#") and text[start] != '"':
                line_end = text.find("\n", start)
                skip_to = len(text) if line_end < 0 else line_end
                continue
            if first and word not in ("machine", _NETRC_DEFAULT, _MACDEF):
                return None  # (a macro may come first: an ftp init macro; review122)
            first = False
            if word == _NETRC_DEFAULT or word == "machine":
                entry = set()  # (a new machine's entry)
                if word == _NETRC_DEFAULT:
                    continue
            if word == _MACDEF:
                blank = _BLANK_LINE.search(text, end)
                skip_to = len(text) if blank is None else blank.start()
                continue
            if word in _NETRC_FOREIGN:
                unknown, expect = True, "value"  # (its value skipped with it)
                continue
            if word not in _NETRC_VALUED:
                if _LINE_REST.match(text, end) is None:
                    return None  # (a word then more on its line: prose)
                unknown = True  # (a stray word ending its line: skipped, as curl does)
                continue
            if word in _NETRC_PAIR:
                entry.add(word)
                whole = whole or len(entry) == 2
            expect = "hide" if denies(word) else "value"
        else:
            if expect == "hide":
                out += text[kept:start], redacted(word)
                kept = end
                if len(out) >= CHUNK:  # (a MiB of short entries: 12 copies kept)
                    done.append("".join(out))
                    out.clear()
            expect = "key"
    if not done and not out or unknown and not whole:
        return None
    return "".join([*done, *out, text[kept:]])


def _unquoted(token: str) -> str:
    """A quoted netrc token's text: its quotes off, its escapes read."""
    inner = token[1:-1] if len(token) > 1 and token.endswith('"') else token[1:]
    return _ESCAPED.sub(r"\1", inner) if "\\" in inner else inner


def _quoted_end(text: str, at: int) -> int:
    """Where a netrc's quoted token whose text starts at ``at`` ends: after its closing
    quote, or at the text's end."""
    close = escaped_close(text, at, '"')
    return len(text) if close < 0 else close + 1
