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
the next may begin: each character read by two tries at most, linear.
"""

from __future__ import annotations

from readme_metrics._lazy_re import lazy_compile

__all__ = ["LENIENT"]

#: A special scheme's ``:`` (the pattern's first character: the engine finds each ``:``
#: at a search's speed, then looks behind it for the scheme from a word's start), then
#: separators that are not ``//`` as :data:`.text_userinfo._RAW` reads it (``//`` or
#: JSON's ``\\/\\/`` then no other slash): any run of ``/`` and ``\\``, or none.
_WORD = r"(?<![A-Za-z0-9+.\-%_])"
_LEAD = (r":(?:(?<=" + _WORD + r"(?i:https):)|(?<=" + _WORD + r"(?i:http):)|(?<="
         + _WORD + r"(?i:wss|ftp):)|(?<=" + _WORD + r"(?i:ws):))"
         r"(?!(?:\\?/){2}(?![/\\]))[/\\]*")
#: A scheme's first letter in the authority where it starts no other special scheme's
#: ``:`` (other characters are read by a class alone: the engine's fast path).
_NOT_SCHEME = r"(?!(?i:https?|wss?|ftp):)[hHwWfF]"
#: An ``@`` of the user (an address as the user: ``https:ada@corp.com:pw@h``, which a
#: WHATWG parser reads to the authority's last ``@``, as :data:`.text_userinfo._RAW` reads
#: ``//``'s; review155: its password was sent) where a ``:`` then another ``@`` follow it
#: within the authority: each ``@``'s look reads to the second ``@`` after it at most.
_USER_AT = r"@(?=[^\s/?#\"<>\\`:@\[\]]*:[^\s/?#\"<>\\`@]*@)"
#: The lead, the user (group 1: no ``:``, an ``@`` only so), ``:`` and the password
#: (group 2) to the authority's last ``@`` (a password may hold one), neither holding a
#: blank, ``/``, ``?``, ``#``, a double quote (a single one is a userinfo's, as
#: :data:`.text_userinfo._RAW` reads it), a backslash, a bracket of markup nor a backquote.
LENIENT = lazy_compile(
    _LEAD + r"((?:[^\s/?#\"<>\\`:@\[\]hHwWfF]|" + _NOT_SCHEME + "|" + _USER_AT + r")*)"
    r"(?::((?:[^\s/?#\"<>\\`@hHwWfF]|" + _NOT_SCHEME
    + r"|@(?=[^\s/?#\"<>\\`@]*@))*))?@")
