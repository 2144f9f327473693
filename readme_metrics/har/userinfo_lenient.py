"""A special scheme's URL written in a text with separators other than ``//``, read as a
browser reads it (hostile64): ``https:\\\\ada:pw@h/``, ``https:///ada:pw@h/``,
``https:/ada:pw@h``, ``https:ada:pw@h/`` (a WHATWG parser skips any run of ``/`` and
``\\`` after a special scheme's ``:``, or none, then reads the authority: the password
``pw``; review152 read these in URL headers, a body's or a plain header's were sent).
Only WHATWG's special schemes (http, https, ws, wss, ftp), from a word's start, and only
with an ``@`` in the authority: ``see http:ada`` in prose is no userinfo, nor is
``mailto:ada@example.com``. The userinfo is read strictly (no ``/``, ``?``, ``#`` in the
password: a loose one is :data:`.text_userinfo._RAW`'s reading of ``//``), and no
character of it is another such scheme's ``:`` start, so that a start's try ends where
the next may begin: each character read by two tries at most, linear. A user holding an
``@`` (an address, ``https:ada@corp.com:pw@h``) is read to the authority's last ``@``, as
a browser reads it, when a ``:`` then another ``@`` follow it (hostile65: read as the user
``ada`` alone, the password sent), another ``@`` of the user too (``ada@corp.com@x.org``:
:func:`address_user`, review156). :data:`LENIENT_ESCAPED` reads the same written with
JSON's escapes (``https:ada:pw\\u0040h``, ``https\\u003aada\\u003apw\\u0040h``,
``https:\\u002fada...``; hostile65: sent in a JSON body, a JSON-valued header, a URL
header's path or query and the request's own path).
"""

from __future__ import annotations

from readme_metrics._lazy_re import lazy_compile

__all__ = ["LENIENT", "LENIENT_ESCAPED", "address_user"]

#: What precedes a scheme's first letter: no word's character (or JSON's escape of a
#: blank, ``\\n``, in :data:`LENIENT_ESCAPED`).
_WORD = r"(?<![A-Za-z0-9+.\-%_])"
#: The special schemes, each a fixed width for a look behind.
_SCHEMES = ("(?i:https)", "(?i:http)", "(?i:wss|ftp)", "(?i:ws)")


def address_user(user: str, look: str, at: str, tail: str) -> str:
    """A reader's user (its group): characters ``user``, then, where an ``at`` (an
    ``@``'s spelling) is followed by ``look``'s characters and ``at``'s, then ``tail``
    (the ``:``, the password and the authority's ``@``), that ``@`` and the rest of the
    user to its ``:``, each later ``@`` with it (``https://ada@corp.com@x.org:pw@h``: a
    WHATWG parser reads the user to the authority's last ``@`` before the password; a
    look that stopped at a second ``@`` read the user ``ada``, the password sent till
    review156). One look a start, at its user's first ``@``: linear."""
    return ("((?:" + user + ")*(?:" + at + "(?=(?:" + look + "|" + at + ")*" + tail + ")(?:"
            + user + "|" + at + ")*)?)")


def _pattern(colon: str, colons: tuple[str, ...], separator: str, two: str, at: str,
             escape: str, starts: tuple[str, ...]) -> str:
    """The reader's pattern: ``colon`` a ``:`` (each spelling, ``colons``, its own look
    behind at the scheme), ``separator`` one of its separators, ``two`` the ``//`` that
    :data:`.text_userinfo._RAW` (or ``_ESCAPED``) reads, ``at`` an ``@``, ``escape`` an
    escape a user's or password's character may be (empty: none), ``starts`` what may
    precede the scheme."""
    # (each spelling's own looks, after one at the scheme's last letter, which the
    # engine tries first: a JSON text's every ":" and "\\u" costs it alone)
    lead = "|".join(f"{spelling}(?<=[sSpP]{spelling})(?:" + "|".join(
        f"(?<={start}{scheme}{spelling})" for start in starts for scheme in _SCHEMES) + ")"
        for spelling in colons)
    # A scheme's first letter in the authority where it starts no other special
    # scheme's ``:`` (other characters are read by a class alone: the engine's fast path).
    not_scheme = r"(?!(?i:https?|wss?|ftp)" + colon + r")[hHwWfF]"
    user_read = r"[^\s/?#\"<>\\`:@\[\]hHwWfF]|" + not_scheme + escape
    password = r"[^\s/?#\"<>\\`@]" + escape
    return ("(?:" + lead + ")(?!" + two + r"(?![/\\]))(?:" + separator + ")*"
            # (the look at a user's @ stops at another scheme's start, as the user does)
            + address_user(user_read, user_read, at, colon + "(?:" + password + ")*" + at)
            + r"(?:" + colon + r"((?:[^\s/?#\"<>\\`@hHwWfF]|" + not_scheme + escape
            + "|" + at + "(?=(?:" + password + ")*" + at + "))*))?" + at)


#: A special scheme's ``:`` (the pattern's first character: the engine finds each ``:``
#: at a search's speed, then looks behind it for the scheme from a word's start), then
#: separators that are not ``//`` as :data:`.text_userinfo._RAW` reads it (``//`` or
#: JSON's ``\\/\\/`` then no other slash): any run of ``/`` and ``\\``, or none; the user
#: (group 1: no ``:``, an ``@`` only before a ``:`` and another ``@``), ``:`` and the
#: password (group 2) to the authority's last ``@`` (a password may hold one), neither
#: holding a blank, ``/``, ``?``, ``#``, a double quote (a single one is a userinfo's, as
#: :data:`.text_userinfo._RAW` reads it), a backslash, a bracket of markup nor a backquote.
LENIENT = lazy_compile(_pattern(":", (":",), r"/|\\(?!u[0-9A-Fa-f]{4})", r"(?:\\?/){2}", "@",
                                "", (_WORD,)))

#: A JSON escape that is a user's or a password's character: none of a sign that ends an
#: authority or starts its parts (``: / @ ? # [ ] \\ " < >`` and a backquote), nor of a
#: blank (C0 controls, ``\\u0020``, ``\\u0085``, ``\\u00a0``, ``\\u1680``, ``\\u2000`` to
#: ``\\u202f``, ``\\u205f``, ``\\u3000``).
_ESCAPE = (r"|\\u(?!(?i:00[01][0-9a-f]|002[0-3f]|003[acef]|0040|005[b-d]|0060|0085|00a0"
           r"|1680|20[0-2][0-9a-f]|205f|3000))[0-9A-Fa-f]{4}")
#: The same with JSON's escapes: ``:`` as ``\\u003a``, a separator as ``/``, ``\\/``,
#: ``\\\\`` (a backslash), ``\\u002f``, ``\\u005c``, ``@`` as ``\\u0040``; the user's and
#: password's other characters escaped too (read unescaped: ``text_userinfo._shown``).
#: Its ``//`` the escaped reader's (``\\u002f\\u002f``, ``\\/\\/``); from a word's start
#: or after JSON's escape of a blank.
LENIENT_ESCAPED = lazy_compile(_pattern(
    r"(?::|\\u003[Aa])", (":", r"\\u003[Aa]"), r"\\u00(?:2[Ff]|5[Cc])|\\[/\\]|/",
    r"(?:\\?/|\\u002[Ff]){2}", r"(?:@|\\u0040)", _ESCAPE, (_WORD, r"\\[nrtbf]")))
