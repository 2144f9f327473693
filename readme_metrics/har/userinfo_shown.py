"""How a URL's userinfo found in a text or a header is logged (:mod:`.text_userinfo`'s
readers, :mod:`.header_urls`): its password hidden whole (:func:`hidden_password`, a
code's placeholder kept), its user kept or masked beside it (:func:`shown_user`), a user
alone kept when it reads as a user name, hidden when token-like (:func:`hidden_user`).
The one place each rule lives: bodies, queries, headers and the url alike (moved from
:mod:`.text_userinfo`, which reads where they are, hostile61). Pure functions.
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import quote, unquote

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_marks import MARKS, escaped_redacted
from readme_metrics.har.userinfo_placeholder import is_placeholder
from readme_metrics.masking import is_masked, mask

__all__ = ["TOKEN_USER", "hidden_password", "hidden_user", "shown_user"]


def hidden_password(password: str, encoded: bool = False) -> Optional[str]:
    """A URL's ``password`` (as written in its userinfo, or ``encoded`` once more: a query
    value's ``%3A...%40``) as its mark, percent-encoded so that the URL stays one; None
    for an empty one, one hidden already (a list's mark, the caller's key's mask) or a
    code's or a document's placeholder (:func:`.userinfo_placeholder.is_placeholder`), kept.
    The one place a URL's password becomes its mark: bodies, queries, headers, the url.
    A placeholder percent-encoded (``%7BapiKey%7D``: a header's URL as logged, read again
    for the URLs nested in it, hostile63) is one, as the URL means it."""
    meant = unquote(password) if encoded else password
    if not password or MARKS.fullmatch(password) is not None or password.startswith(
            "sha512-") and is_masked(unquote(password)) or is_placeholder(meant) or (
            "%" in meant and is_placeholder(unquote(meant))):
        return None
    return escaped_redacted(
        "x" * (len(password) - 2 * password.count("%")) if encoded else password)


#: A user this long is taken for a token (GitHub's ``https://<token>:x-oauth-basic@``,
#: Bitbucket's app passwords as the user): a user name is shorter; a GitHub token is 40
#: characters and more, an AWS key id 20.
TOKEN_USER = 20


def shown_user(user: str, encoded: bool = False) -> str:
    """A userinfo's ``user`` (as written, or ``encoded`` once more: a query value's) as
    logged beside its hidden password, in a header, the url or a body alike: kept as
    written, or masked as a credential header's value (percent-encoded, as often as it
    was) when it is as long as a token (hostile52 kept every user, and
    ``https://<token>:x-oauth-basic@github.com`` sent its token in clear; a body kept it
    till hostile53). One holding an ``@`` (``ada@corp.com``: an address as the user) is
    hidden whole when what is before its ``@`` is no user name (:func:`hidden_user`):
    ``https://<token>@h:\\x@y`` is a token alone to one reader (hostile56)."""
    shown = unquote(unquote(user) if encoded else user)
    local, at, _ = shown.partition("@")
    if at and shown[:1] != "[" and hidden_user(local) != local:
        return escaped_redacted(shown)
    if len(shown) < TOKEN_USER or is_masked(shown) or shown.startswith("[REDACTED"):
        return user
    masked = quote(mask(shown), safe="")
    return quote(masked, safe="") if encoded else masked


#: A user alone that reads as a user name (``git``, ``ada``, ``deploy``, ``ec2-user``,
#: ``john.doe``, ``Admin``, ``Administrator``): a letter, then lowercase letters, digits,
#: ``.``, ``_``, ``-``; two digits at most (:func:`hidden_user` counts them); not 8
#: characters or more that are all hex digits (``deadbeef``, ``cafebabe``: a hex token's
#: shape, kept till hostile55). Anything else is token-like: a capital after the first
#: character (``Zq8h22Xw``, ``ADMIN``), three digits or more (``a1b2c3d4``), another
#: sign, an escape (``%41dmin``). (Till hostile55 a capital first was token-like too:
#: ``Admin`` was hidden, ``deadbeef`` kept.)
_USER_NAME = lazy_compile(r"(?![0-9A-Fa-f]{8,}\Z)[A-Za-z][a-z0-9._\-]*")

#: What no token holds (they are ASCII letters, digits, ``-._~+=/`` and the like): a
#: list's separator (``,``, ``;``, ``|``), a quote or bracket of prose (``'``, ``()``,
#: ``{}``), ``^``, a backslash, a character not ASCII (``…``). A "user" holding one is
#: text before a ``@``, not a credential: ``Ada,https://ada.dev,ada@example.com`` (a CSV
#: row: the website and an address), ``('https://example.com','ada@example.com')``
#: (review144: their host and the address's user hidden whole, since hostile54), JSON's
#: ``https://example.com\\nada@example.com`` (a newline's escape: review145), or a user
#: name (a domain's ``CORP\\nancy``).
_NO_TOKEN = lazy_compile(r"[,;|'(){}^\\]|[^\x00-\x7f]")


def hidden_user(user: str, encoded: bool = False) -> str:
    """A URL's ``user`` that has no password (``https://<user>@host``, or an empty one:
    ``<user>:@``) as logged, in a header, the url, a query or a body alike (hostile54;
    a query's and a body's with a denylist, as their passwords): the credential itself
    when the API takes a token as the user, a user name otherwise. As long as a token
    (:data:`TOKEN_USER`): masked as a credential header's value, its last four
    characters shown as SPEC section 6 shows a key's (:func:`shown_user`). Shorter, a
    user name (:data:`_USER_NAME`) is kept; anything else is hidden whole
    (``%5BREDACTED%208%5D``): the mask's last four characters were half of an
    8-character token, or all of a 4-character one. Kept too: an empty one, one hidden
    already. Read as the URL means it: its escapes decoded once, and once more when
    ``encoded`` (a query value's ``https%3A%2F%2F%2541dmin%40h`` is the URL
    ``https://%41dmin@h``, whose user is ``Admin``; a header's ``https://%2541dmin@h``
    has the user ``%41dmin``, token-like). Kept too: one holding what no token holds
    (:data:`_NO_TOKEN`: text before an address's ``@``; review144). A special scheme's
    ``//`` written percent-encoded before it (``https:%2F%2Fada@h``: a WHATWG parser reads
    the user ``%2F%2Fada``) is read past, the user name ``ada`` kept as in
    ``https://ada@h``, ``https:/ada@h`` and ``http:%5C%5Cada@h`` (hostile66: hidden)."""
    shown = unquote(unquote(user) if encoded else user)
    if _NO_TOKEN.search(shown) is not None:
        return user
    name = shown.lstrip("/")
    if (not shown or len(shown) >= TOKEN_USER or MARKS.fullmatch(shown) is not None
            or _USER_NAME.fullmatch(name) is not None and sum(map(str.isdigit, name)) < 3):
        return shown_user(user, encoded)
    return escaped_redacted(shown)  # (a query's: its value reads ``[REDACTED 8]``)
