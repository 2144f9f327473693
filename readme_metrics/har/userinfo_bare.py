"""A Windows domain's user and its password written without a scheme in a text
(``CORP\\ada:pw@proxy.corp:8080``, JSON's ``CORP\\\\ada``, ``a\\b:1234\\pw@h``), read by
:mod:`.text_userinfo` as a URL's userinfo is (hostile63: sent; curl reads ``http://``
before it, and a proxy's setting or a share's credential is written so). The backslash
in the user is what says so: ``ada:pw@h`` without one is prose's or an address's
(``to:ada@example.com``), not read. From a word's start (the text's, or after a blank or
a quote), its password to the word's ``@`` (none in it), holding no blank, quote nor
closing tag's ``</``: a start's try ends where the next start may be, each character
read by one: linear.

Not a domain's user: one of more than two names (``site\\tnote\\temail``: JSON's TSV, its
blanks escaped), a "password" starting with ``/`` (``Ada\\thttps://ada.dev``: a URL after
an escaped tab, review146's rows); a JSON escape of a blank (``\\n``, ``\\t``) ends a
password, as a blank does.
"""

from __future__ import annotations

from readme_metrics._lazy_re import lazy_compile

__all__ = ["BARE"]

#: A domain's user (group 1: two names joined by one backslash, or JSON's two), ``:``,
#: its password (group 2), ``@`` and a host's first character.
BARE = lazy_compile(
    r"(?<![^\s\"'])([A-Za-z0-9._$\-]+\\{1,2}[A-Za-z0-9._$\-]+)"
    r":(?!/)((?:[^\s\"'`@<\\]|<(?!/)|\\(?![nrtf]))+)@(?=[A-Za-z0-9\[])")
