"""A URL's password written in a text, hidden by the denylist (hostile51): a body's
(``see https://ada:...@host/``, ``postgres://ada:...@db/x``, a JSON string's
``https:\\/\\/ada:...@host``) and a query's or form's value (``next=https://ada:...@host/``,
``next=https%3A%2F%2Fada%3A...%40host``). A header holding a URL has its password hidden
always, by :func:`hidden_password` too (:mod:`.header_urls`: it was masked, its last four
characters shown, till hostile52). The user is kept, the password hidden percent-encoded
(``%5BREDACTED%206%5D``), so that the URL stays a URL. Pure functions over the text; each
authority read once: linear.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional
from urllib.parse import unquote

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_marks import MARKS, escaped_redacted
from readme_metrics.masking import is_masked

__all__ = ["hidden_password", "userinfo_hidden_in"]

#: A URL's userinfo, its scheme first, from a word's start: its user (no ``:`` nor ``@``),
#: ``:``, its password to the authority's last ``@`` (a password may hold one), the
#: authority ending at a blank, ``/``, ``?``, ``#``, a double quote (a single one is a
#: userinfo's), a backslash (``https:\/\/``, JSON's escape, is read as ``https://``),
#: a bracket of markup or a backquote.
_RAW = lazy_compile(
    r"(?<![\w+.\-%])[A-Za-z][A-Za-z0-9+.\-]*:(?:\\?/){2}[^\s/?#\"<>\\`:@]*:"
    r"([^\s/?#\"<>\\`]*)@")

#: The same percent-encoded (a query's value): ``https%3A%2F%2F``, the user, ``%3A``, the
#: password to the authority's last ``%40``, ending at an encoded ``/``, ``?``, ``#`` or
#: a pair's ``&``, ``=``.
_ENCODED = lazy_compile(
    r"(?<![\w+.\-%])[A-Za-z][A-Za-z0-9+.\-]*%3[Aa]%2[Ff]%2[Ff]"
    r"(?:[^\s/?#&=%:@\"'<>\\`]|%(?!2[Ff]|3[Ff]|23|3[Aa]|40)[0-9A-Fa-f]{2})*%3[Aa]"
    r"((?:[^\s/?#&=%\"'<>\\`]|%(?!2[Ff]|3[Ff]|23)[0-9A-Fa-f]{2})*)%40")


def userinfo_hidden_in(text: str) -> str:
    """``text`` with the password of each URL's userinfo in it hidden, as written or
    percent-encoded (see the module's docstring); ``text`` itself when none is."""
    if "@" in text and "/" in text:
        text = _hidden(text, _RAW.finditer(text), False)
    if "%40" in text and ("%3A" in text or "%3a" in text):
        text = _hidden(text, _ENCODED.finditer(text), True)
    return text


def hidden_password(password: str, encoded: bool = False) -> Optional[str]:
    """A URL's ``password`` (as written in its userinfo, or ``encoded`` once more: a query
    value's ``%3A...%40``) as its mark, percent-encoded so that the URL stays one; None
    for an empty one or one hidden already (a list's mark, the caller's key's mask), kept.
    The one place a URL's password becomes its mark: bodies, queries, headers, the url."""
    if not password or MARKS.fullmatch(password) is not None or password.startswith(
            "sha512-") and is_masked(unquote(password)):
        return None
    return escaped_redacted(
        "x" * (len(password) - 2 * password.count("%")) if encoded else password)


def _hidden(text: str, found: Iterator[re.Match[str]], encoded: bool) -> str:
    """``text`` with each password ``found`` (its matches, group 1) hidden; an empty one,
    or one hidden already, kept. (No call on the text itself: a call for each URL on a
    text of many was counted the text's length each by tests/support's text_work.)"""
    out: list[str] = []
    kept = 0
    for userinfo in found:
        mark = hidden_password(userinfo.group(1), encoded)
        if mark is None:
            continue
        out += text[kept:userinfo.start(1)], mark
        kept = userinfo.end(1)
    if not out:
        return text
    out.append(text[kept:])
    return "".join(out)
