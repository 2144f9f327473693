"""Wording shared by the library's log lines and the command's output."""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Optional

__all__ = ["KEPT", "Kept", "KeptError", "counted", "env_file_hint", "kept_in", "wrong_type"]


def counted(count: int, noun: str, plural: str = "") -> str:
    """``"1 log"``, ``"2 logs"``; ``plural`` where adding an "s" is wrong ("entries")."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def wrong_type(name: str, variable: Optional[str], takes: str, value: Any,
               shown: bool = True) -> str:
    """The error for an argument of the wrong Python type: what ``name`` takes (``takes``,
    "a bool (True or False)") and the type given, with ``value`` unless not ``shown`` (a
    secret). A string is what the environment holds, so a string given as an argument
    (``development_mode="false"``) is told where strings are read from instead, and the
    ``...`` of an example copied as it is written (``MetricsApiConfig(...)``) is told
    for what it is."""
    kind = type(value).__name__
    got = f"the {kind} {value!r}" if shown else f"a value of type {kind}"
    if isinstance(value, str) and variable is not None:
        example = f"like {value!r} " if shown else ""
        return (f"readme_metrics: {name} must be {takes}, got {got}; strings {example}are "
                f"read from {variable}")
    label = f"{name} ({variable})" if variable is not None else name
    if value is Ellipsis:  # MetricsApiConfig(...), copied from an example as it is written
        got += (": `...` in the examples stands for your own arguments: leave it out, or "
                "write them out")
    return f"readme_metrics: {label} must be {takes}, got {got}"


_QUOTES = "\"'"
# A comment after a value on a line of a variables file: a blank, then "#" (a URL's
# fragment, "/#top", has none before it, nor a value that starts with "#").
_COMMENT = re.compile(r"\s#")
# In a list, "#" and a word after a comma and blanks is an item ("id, #tag": a JSON key
# may start with "#"), not a comment; "password,token, # secrets" still ends with one.
_ITEMS_COMMENT = re.compile(r"(?<![,\s])\s+#|\s+#(?!\S)")


#: In every :func:`env_file_hint`: the words saying what was kept.
KEPT = "part of the value where nothing removes"


class Kept(NamedTuple):
    """What a file of variables means as syntax that a value holds (:func:`kept_in`)."""

    #: It ends with a comment (" # ...").
    comment: bool
    #: The quote it stands between ('"' or "'"), or "".
    quote: str
    #: The value meant: without them (a list's items unquoted each).
    meant: str

    def said(self, shown: bool = True, dotenv: bool = False) -> str:
        """What :func:`env_file_hint` says after its "it " ("ends with a comment ...")."""
        said = []
        if self.comment:
            said.append("ends with a comment (' # ...')")
        if self.quote:
            said.append(f"is between {self.quote} quotes")
        both = len(said) > 1
        which = "them" if both or not self.comment else "it"
        without = ("the quotes and the comment" if both else
                   "the comment" if self.comment else "them")
        write = f"write it without {without}" + (f", {self.meant!r}" if shown else "")
        where = ("a .env file keeps what stands inside its quotes" if dotenv else
                 "`docker run --env-file` keeps lines as written")
        return (f"{' and '.join(said)}, which {'are' if which == 'them' else 'is'} {KEPT} "
                f"{which} ({where}): {write}")


class KeptError(ValueError):
    """A refusal of a value that already says what a file of variables kept in it
    (:func:`env_file_hint`): not said a second time by whoever passes it on."""


def kept_in(text: object, items: bool = False) -> Optional[Kept]:
    """What a file of variables means as syntax that ``text`` holds, kept by what read
    it: quotes around it (``"false"``, ``'5'``) or a comment after it (``1  # seconds``);
    None for any other value. ``items``: a comma-separated list, each of whose items may
    be quoted too (``"password","token"`` is meant ``password,token``)."""
    if not isinstance(text, str):
        return None
    comment = (_ITEMS_COMMENT if items else _COMMENT).search(text)
    meant = (text[:comment.start()] if comment else text).strip()
    quote = ""
    if len(meant) >= 2 and meant[0] in _QUOTES and meant[-1] == meant[0]:
        quote = meant[0]
        meant = meant[1:-1].strip()
        if items:
            meant = ",".join(item.strip().strip(_QUOTES).strip()
                             for item in meant.split(","))
    if not (comment or quote):
        return None
    return Kept(comment is not None, quote, meant)


def env_file_hint(text: object, shown: bool = True, items: bool = False,
                  dotenv: bool = False) -> str:
    """For a value that holds what a file of variables means as syntax, kept by what read
    it (:func:`kept_in`): says which, and the value meant (unless not ``shown``: a URL
    may hold a password); "" for any other value.

    ``docker run --env-file`` takes every line as written, where a ``.env`` file read by
    the library (python-dotenv) has its quotes and comments removed: there (``dotenv``)
    what stands inside the quotes is kept (``README_FLUSH_INTERVAL="1 # seconds"``)."""
    kept = kept_in(text, items)
    return "" if kept is None else "it " + kept.said(shown, dotenv)
