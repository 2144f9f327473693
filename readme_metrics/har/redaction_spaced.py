"""Text formats whose key is followed by a blank, by the denylist (hostile28): a Java
``.properties`` file (``password hunter2``, ``password\\thunter2``, ``db.password = ...``;
a ``.netrc``, the other such format: :mod:`.redaction_netrc`). Read only where the body is
one: declared (``text/x-java-properties``) or every line of it a comment or ``key value``,
one word for the value (``the password is wrong`` is prose: its value has blanks). Pure
functions over the text, linear in it; ``None`` when the body is no such file or nothing
is hidden. And a text/plain line's pair whose name has blanks around it (``password =
...``: :func:`spaced_pair`, hostile33), and the quote and string readers the code and
env readers share.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator, Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.yaml_lines import quote_close

__all__ = ["NULLS", "PROPERTIES", "SCRIPT_QUOTES", "TRIPLES", "declared_end", "declared_value",
           "CHUNK", "escaped_close", "name_denied",
           "properties_redacted", "quote_opened", "spaced_pair"]

#: The types a properties file is declared as.
PROPERTIES = frozenset({"text/x-java-properties", "text/x-properties"})

# In a quoted token, an escape (skipped whole) or its closing quote. (Found one by one:
# a pattern for the whole token kept a state for each escape, a 1 MiB token of them
# 77 MiB at its peak; review117.)
# (A script's string, its quote ' or a backquote, is read so too: escaped_close.)
_QUOTED_STOPS = {quote: lazy_compile(r"\\.|" + quote, re.DOTALL) for quote in ('"', "'", "`")}
def escaped_close(text: str, at: int, quote: str) -> int:
    """Where the ``quote`` (``"``, ``'`` or a backquote) closing a string whose text
    starts at ``at`` is, a backslash escaping any character (a netrc's token, a
    script's string); -1 when none does. Its escapes found one by one from ``at``, to
    the closing quote only: a line of many strings is read once."""
    return next((stop.start() for stop in _QUOTED_STOPS[quote].finditer(text, at)
                 if stop.group() == quote), -1)


# A properties line as Java reads it (a logical line: its physical lines continued by a
# "\" at their ends): its key, to the first blank, "=" or ":" no backslash escapes (a
# continuation, with the blanks starting the next line: "pass\" then "  word", is in
# the key), the separator (blanks, or one "=" or ":" with blanks about it), the value to
# the logical line's end. (What ends the key found stop by stop: a pattern for the key
# kept a state for each character, a 1 MiB key 145 MiB at its peak; review117.)
_PLAIN_KEY = lazy_compile(r"[ \t\f]*([^\s=:\\]+)([ \t\f]*[=:][ \t\f]*|[ \t\f]+)")
_KEY_STOP = lazy_compile(r"\\(?:\r\n?|\n)[ \t\f]*|\\.|[\s=:]", re.DOTALL)
_SEPARATOR = lazy_compile(r"[ \t\f]*[=:][ \t\f]*|[ \t\f]+")
# A line of a body not declared a properties file: a comment, blank, or a key of name
# characters, then blanks and one word (the key then blanks only: ``password`` alone).
_PLAIN_LINE = lazy_compile(
    r"[ \t\f]*(?:[#!][^\n]*|[\w.\-]+(?:[ \t\f]*[=:][^\n]*|[ \t\f]+[^\s]+[ \t\f]*\r?)|\r?)")
# A line's end as Properties.load reads it: LF, CRLF or a lone CR (review117).
_LINE_END = lazy_compile(r"(\r\n|\r|\n)")
# An escape in a key: a continuation (the next line's first blanks with it), \uXXXX, or
# a backslash before another character (t, n, r, f: those controls; else the character).
_KEY_ESCAPE = lazy_compile(r"\\(?:(?:\r\n?|\n)[ \t\f]*|u([0-9A-Fa-f]{4})|(.))", re.DOTALL)
_CONTROLS = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def properties_redacted(text: str, denies: Callable[[str], bool],
                        declared: bool, escaped: bool = False) -> Optional[str]:
    """A properties file's ``text`` with the value of each key ``denies`` names hidden
    (its last dotted part too: ``db.password``; its escapes read: ``pass\\u0077ord``, a
    key continued on the next line), a value continued on the next lines by a ``\\`` at
    its end hidden with them; ``None`` when nothing is. Lines end at LF, CRLF or a lone
    CR, as Java reads them. Not ``declared``: the body is one only when every line is
    (:data:`_PLAIN_LINE`), and only the values after a blank or ``:`` separator are read
    here (``password=...`` lines are text/plain's pairs, Go's ``password := ...`` a
    script's; ``db.password: ...``, kept before, hostile51). ``escaped``: a text/plain
    body's lines holding a ``\\`` (an escape, a continuation) are read as a declared
    file's, its others left (hostile51); but when every other line is plain, as a file's
    are, those are read as one not declared (``password ...``, ``password:...`` next to
    an escaped key: sent in clear; review141)."""
    if not declared and not escaped and not all(_PLAIN_LINE.fullmatch(text, start, end)
                                                for start, end in _lines(text)):
        return None
    whole = escaped and _plain_but_escaped(text)
    done: list[str] = []  # (the text so far, joined a chunk at a time)
    out: list[str] = []
    kept = 0
    lines = _lines(text)
    for first, end in lines:
        if _EMPTY_OR_COMMENT.match(text, first, end) is not None:
            continue
        line = first
        while _continued(text[line:end]):
            following = next(lines, None)  # (the line goes on: read with it)
            if following is None:
                break
            line, end = following
        logical = text[first:end]
        escapes = escaped and "\\" in logical
        found = _property(logical) if not escaped or escapes or whole else None
        at = -1 if found is None or not declared and not escapes and (
            "=" in found[1] or logical[found[2]:found[2] + 1] == "=") else (
            _value_start(found, denies))
        if at < 0 or at == len(logical):
            continue
        out += text[kept:first + at], redacted(logical[at:])
        kept = end
        if len(out) >= CHUNK:
            # (A piece or two a line hidden: 24-50 copies of a MiB of short lines at the
            # peak when kept to the end, and a list of every line; review122.)
            done.append("".join(out))
            out.clear()
    if not done and not out:
        return None
    return "".join([*done, *out, text[kept:]])


#: The pieces of a properties file's text joined at once.
CHUNK = 4096
#: A line that is blank or a comment (``#`` or ``!`` after blanks).
_EMPTY_OR_COMMENT = lazy_compile(r"[ \t\f]*(?:[#!]|\Z)")


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """Where each line of ``text`` starts and ends (before its LF, CRLF or CR)."""
    at = 0
    for found in _LINE_END.finditer(text):
        yield at, found.start()
        at = found.end()
    yield at, len(text)


def _property(logical: str) -> Optional[tuple[str, str, int]]:
    """A logical line's key as written, its separator and where its value starts; None
    when it has no separator."""
    if "\\" not in logical:  # (no escape: the key read at once)
        plain = _PLAIN_KEY.match(logical)
        return None if plain is None else (plain.group(1), plain.group(2), plain.end())
    start = len(logical) - len(logical.lstrip(" \t\f"))
    end = next((stop.start() for stop in _KEY_STOP.finditer(logical, start)
                if stop.group()[0] != "\\"), len(logical))
    separator = _SEPARATOR.match(logical, end) if end > start else None
    if separator is None:  # (a key to the line's end: its value empty, unless cut)
        return (logical[start:end], "", end) if start < end == len(logical) else None
    return logical[start:end], separator.group(), separator.end()


def _value_start(found: tuple[str, str, int], denies: Callable[[str], bool]) -> int:
    """Where the value of a line's property ``found`` starts when ``denies`` names its
    key (its blanks trimmed: ``password\\ =``), else -1; a key whose name is cut by an
    escaped separator, ``password\\:...`` (a key as Java reads it, holding the value),
    from after it (hostile51: sent in clear)."""
    written, separator, start = found
    if name_denied(_key(written).strip(" \t\f"), denies):
        return start
    cut = _ESCAPED_SEPARATOR.search(written) if "\\" in written else None
    if cut is None or not name_denied(_key(written[:cut.start()]).strip(" \t\f"), denies):
        return -1
    return start - len(separator) - len(written) + cut.end()


#: A separator escaped in a key (``password\\:...``, ``password\\=...``).
_ESCAPED_SEPARATOR = lazy_compile(r"\\[:=]")


def _key(written: str) -> str:
    """A properties key as Java reads it: its escapes and continuations undone."""
    if "\\" not in written:
        return written
    return _KEY_ESCAPE.sub(lambda escape: (
        chr(int(escape.group(1), 16)) if escape.group(1) is not None
        else "" if escape.group(2) is None
        else _CONTROLS.get(escape.group(2), escape.group(2))), written)


def name_denied(key: str, denies: Callable[[str], bool]) -> bool:
    """Whether a properties key is denied, or its last dotted part (``db.password``)."""
    return denies(key) or "." in key and denies(key.rsplit(".", 1)[1])


def _plain_but_escaped(text: str) -> bool:
    """Whether each line of ``text`` is :data:`_PLAIN_LINE`, a key holding an escape, or
    a line continued, or its continuation (a ``\\`` in prose's words is none: one pass,
    linear)."""
    continued = False
    for start, end in _lines(text):
        line = text[start:end]
        if not continued and not _PLAIN_LINE.fullmatch(line):
            found = "\\" in line and _property(line)
            if not (found and "\\" in found[0] or _continued(line)):
                return False
        continued = _continued(line)
    return True


def _continued(line: str) -> bool:
    """Whether a properties line goes on to the next: an odd run of ``\\`` at its end."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


#: A text/plain line that is one pair, its "=" spaced or its name indented or after a
#: shell's ``export`` or a script's declaration (``const``, ``let``, ``var``, exported
#: too: hostile47): its blanks, ``export`` and declaration, its name, the "=" with its
#: blanks, the value (to the line's end: linear, no overlap).
_SPACED_PAIR = lazy_compile(
    r"([ \t\f]*(?:export[ \t\f]+)?((?:const|let|var)[ \t\f]+)?)([^\s=&;]+)"
    r"([ \t\f]*=[ \t\f]*)(.*)")

#: A value that is a language's null or boolean (``self.password = None``, ``def
#: f(password=None)``, ``this.password = null;``): code holding no secret, kept
#: (hostile51: hidden before).
NULLS = lazy_compile(
    r"(?:None|null|nil|undefined|NULL|nullptr|True|False|true|false)(?![\w.(\[$'\"`-])")

#: The quotes a script's declared value may open (a template literal's backquote too).
SCRIPT_QUOTES = ('"', "'", "`")


def spaced_pair(line: str, denies: Callable[[str], bool], bare: bool = False
                ) -> Optional[str]:
    """A text/plain ``line`` that is one pair, ``name = value``, with blanks around its
    name or ``=`` (a config file's, a .env's as people write it) or after ``export`` (a
    shell's, which python-dotenv reads too: ``export PASSWORD=...``, hostile42), whose
    name (its last dotted part too) ``denies`` names: its value hidden to the line's end
    (its trailing blanks kept), and so is a quoted value (``PASSWORD='a&b'``, which a
    form's reading cuts at its ``&``); None for any other. A form's reading names that
    pair ``password `` (its blank kept), or ``export PASSWORD``, which no list names: it
    went out in clear (hostile33, hostile42). ``bare``: a pair ``PASSWORD=...`` too, a
    line of a text no form's reading reads (a script's, HTML's: hostile45). A script's
    declaration (``const PASSWORD = "..."``, ``let password='x'``, ``var PASSWORD =
    ...;``: hostile47, sent in clear) has its value hidden to its closing quote, else to
    its ``;``, the name and what follows kept."""
    found = _SPACED_PAIR.fullmatch(line)
    if found is None or not (bare or found.group(1) or found.group(4) != "=" or found.group(
            5)[:1] in ('"', "'")) or not name_denied(found.group(3), denies):
        return None
    value = found.group(5)
    if found.group(2):
        value = declared_value(value)
    value = value.rstrip(" \t\f")
    nothing = NULLS.match(value)
    if not value or nothing is not None and not value[nothing.end():].strip(" \t\f;"):
        return None  # (None, null: no secret; hostile51)
    at = found.start(5)
    return line[:at] + redacted(value) + line[at + len(value):]


def declared_value(value: str) -> str:
    """A script's declared value as written: to its closing quote (a backslash escaping
    in any: JavaScript's strings), else to its ``;``; to the line's end when neither."""
    return value[:declared_end(value, 0)]


def declared_end(line: str, start: int, backquote: bool = False,
                 stop: Optional[re.Pattern[str]] = None) -> int:
    """Where a script's value starting at ``start`` in ``line`` ends (see
    :func:`declared_value`): after its closing quote, else at its ``;`` (or a backquote,
    ``backquote``: Markdown's inline code), else at the line's end. Found in place, to
    the first stop, no copy of the line's rest: a line of many statements is read once
    (linear). ``stop``: what else ends an unquoted value (an argument's ``,`` or ``)``, a
    shell word's blank: :mod:`.redaction_code`)."""
    if line[start:start + 3] in TRIPLES:  # (Python's, TOML's """...""": hostile50)
        close = quote_close(line, start + 3, line[start:start + 3])
        return len(line) if close < 0 else close + 3
    quote = line[start:start + 1]
    if quote in SCRIPT_QUOTES and quote:
        close = escaped_close(line, start + 1, quote)
        return len(line) if close < 0 else close + 1
    found = (stop or (_STOP_INLINE if backquote else _STOP)).search(line, start)
    return len(line) if found is None else found.start()


#: What ends a script's unquoted value: its ``;``; in inline code, a backquote too.
_STOP = lazy_compile(";")
_STOP_INLINE = lazy_compile("[;`]")


def quote_opened(line: str, denies: Callable[[str], bool]) -> str:
    """The quote a ``.env`` line's value opens and does not close when ``denies`` names
    its pair (``PRIVATE_KEY="-----BEGIN ...``: python-dotenv reads the lines up to the
    closing quote as the value, hostile42), else ``""``. In double quotes a backslash
    escapes the character after it; single quotes hold no escape. A script's declaration
    (``const KEY = `...``) may open a backquote, a backslash escaping in any; Python's
    and TOML's three quotes theirs (three ``"`` or ``'``); HCL's heredoc (``password = <<EOT``) is
    ``<<`` and the word its end line is."""
    found = _SPACED_PAIR.fullmatch(line)
    if found is None:
        return ""
    value = found.group(5)
    if value.startswith("<<"):  # (HCL's heredoc, <<EOT to its EOT line: hostile50)
        heredoc = _HEREDOC.fullmatch(value.rstrip(" \t\f"))
        return "" if heredoc is None or not name_denied(found.group(3), denies) else (
            "<<" + heredoc.group(1))
    if value.startswith(TRIPLES):  # ("""...: its lines to the closing three; hostile50)
        triple = value[:3]
        return "" if quote_close(value, 3, triple) >= 0 or not name_denied(
            found.group(3), denies) else triple
    quote = value[:1]
    declared = bool(found.group(2))
    if quote not in (SCRIPT_QUOTES if declared else ('"', "'")) or not name_denied(
            found.group(3), denies):
        return ""
    closed = value.find("'", 1) if quote == "'" and not declared else quote_close(
        value, 1, quote, declared)
    return "" if closed >= 0 else quote


#: The quotes of Python's and TOML's strings over lines (``password = """...``: their
#: first two quotes were read as a closed string, the lines after them sent; hostile50),
#: found as a quote is (:func:`~.yaml_lines.quote_close`: a backslash escapes).
TRIPLES = ('"""', "'''")

#: HCL's (terraform's) heredoc's opening: ``<<EOT``, ``<<-EOT`` (indented), quoted too.
_HEREDOC = lazy_compile(r"<<-?\"?([A-Za-z_]\w*)\"?")
