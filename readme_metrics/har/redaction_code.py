"""A script's assignments anywhere in a line, by the denylist (moved from
:mod:`.redaction_spaced`, hostile48; members and subscripts since hostile49): a
declaration after a statement's start (``a(); const PASSWORD = ...``), typed too
(TypeScript's ``const PASSWORD: Secret<string> = ...``, Go's ``var password string =
...``), a PHP or Perl variable (``$password = ...``), Go's ``password := ...``, and a
member's or a subscript's (``$this->password = ...``, ``$cfg['password'] = ...``,
``self.password = ...``, ``config["password"] = ...``, Ruby's ``@password = ...`` and
``config[:password] = ...``). The value is hidden to its closing quote (a quote left open
goes on over the next lines: a template literal's backquote, a PHP string), else to its
``;`` or the line's end; the name and the code around it kept. Pure functions over a
line, linear in it.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_marks import MARKS, redacted
from readme_metrics.har.redaction_spaced import (
    NULLS,
    SCRIPT_QUOTES,
    TRIPLES,
    declared_end,
    escaped_close,
    name_denied,
)
from readme_metrics.har.yaml_lines import quote_close

__all__ = ["code_assignments", "code_pairs"]

#: A type's word: TypeScript's generics in it (``Secret<string>``), HTML's escapes of
#: their brackets too (``Secret&lt;string&gt;`` in a ``<pre>``; hostile49).
_TYPE = r"(?:[\w$.<>\[\]]|&(?:lt|gt|amp);)+"

#: A member's or a subscript's target (hostile49): a Ruby instance or class variable
#: (``@password``, ``@@password``), or a name (a PHP variable's ``$`` first) then one
#: access or more: ``.password``, ``->password``, ``::$password``, ``['password']``,
#: ``["password"]``, ``[:password]``. A name alone is no target: prose holds ``the
#: password = ...``.
_TARGET = (r"@{1,2}[A-Za-z_]\w*|\$?[A-Za-z_]\w*(?:(?:\.|->|::\$?)[A-Za-z_]\w*"
           r"|\[[ \t\f]*(?:'[^'\\\n\[\]]*'|\"[^\"\\\n\[\]]*\"|:[A-Za-z_]\w*)[ \t\f]*\]"
           # An expression's accesses (hostile51): a call's, its arguments on its line
           # (``get(1, 2).password``), a subscript by a variable (``rows[i].password``),
           # but a symbol's (``[:x]``, the access above: each subscript read one way
           # only; read both ways, a line of 30 ``[:x]`` and no assignment took minutes
           # of backtracking, each one more doubling it: review142).
           r"|\([^()\n]*\)|\[(?![ \t\f]*:)[^\[\]\n'\"]*\])+")

#: A statement assigning a name in a script, anywhere in its line (hostile48): a
#: declaration after a ``;``, ``{``, ``}``, backquote or a tag's ``>`` (``a(); const
#: PASSWORD = ...``, ``<pre>const password = ...``), its TypeScript type or Go's too
#: (``const PASSWORD: string = ...``, ``var password string = ...``); a PHP or Perl
#: variable (``$password = ...``, ``my $PASSWORD='...'``); Go's or make's ``password :=
#: ...``; a member's or a subscript's (:data:`_TARGET`). Each from a statement's start
#: or a word's, so a line is read once: linear.
_CODE_PAIR = lazy_compile(
    r"(?:(?:^|[;{}`>])[ \t\f]*(?:export[ \t\f]+)?(?:const|let|var)[ \t\f]+([\w$.]+)"
    rf"(?:[ \t\f]*:[ \t\f]*{_TYPE}(?:[ \t\f]*[|&,][ \t\f]*{_TYPE})*"
    r"|[ \t\f]+[\w.\[\]*]+)?[ \t\f]*=(?![=>])"
    # (Not after a member access's "->": read from its chain's start, once; started
    # again after each "->" too, a line of them was read again from each to its end,
    # 36 KB in 2.4 s of CPU, 1 MiB in half an hour: review142.)
    r"|(?:^|(?<=[\s;{}(`>])(?<!->))(?:\$([A-Za-z_]\w*)[ \t\f]*=(?![=>~])"
    r"|([A-Za-z_][\w.]*)[ \t\f]*:="
    rf"|({_TARGET})[ \t\f]*=(?![=>~]))"
    # A keyword argument, a TOML inline table's member (hostile50): after "(", "," or "{".
    r"|(?<=[(,{])[ \t\f]*([A-Za-z_]\w*)[ \t\f]*=(?![=>~])"
    # A shell's assignment after "&&", "||" or ";", docker's "-e", "--env" (quoted too:
    # -e "PASSWORD=...") or "--build-arg" (hostile50).
    r"|(?:&&|\|\||;|(?<![\w-])(?:-e|--env|--build-arg)(?:[ \t\f]+|=))[ \t\f]*"
    r"(?:(?P<quote>[\"'])|(?!(?:export|const|let|var)\b))([A-Za-z_]\w*)[ \t\f]*=(?![=>~])"
    r")[ \t\f]*")

#: What ends an unquoted argument (hostile50): the next argument's ``,``, the call's
#: ``)``, an inline table's ``}``, a statement's ``;``. A shell word: a blank, ``;``,
#: ``&``, ``|``.
_ARGUMENT_STOP = lazy_compile(r"[;,)}\]]")
#: An argument's or a shell word's value that is an ellipsis, a placeholder (the README's
#: ``[USER=ada, PASSWORD=...]``, ``a=1,password=...``): no secret, kept.
_PLACEHOLDER = lazy_compile(r"\.\.\.(?![\w.])")
_WORD_STOP = lazy_compile(r"[\s;&|]")

#: What parts a target's accesses (its last one names what is assigned).
_ACCESS = lazy_compile(r"\.|->|::")


def code_assignments(line: str, denies: Callable[[str], bool]) -> tuple[Optional[str], str]:
    """``line`` (a script's) with the value of each assignment :data:`_CODE_PAIR` finds
    whose name (its last dotted part too; a target's last access) ``denies`` names
    hidden: to its closing quote, else to its ``;`` or the line's end (the name and what
    follows kept); None when none is. And the quote the last hidden value opens and
    does not close on the line (``const password = `...``: its next lines are the
    value's, to the one closing it; hostile49), else ``""``. Sent in clear before
    (hostile48): only a line's first declaration was read; hostile49: members and
    subscripts, and a quote opened within a line."""
    if "=" not in line:
        return None, ""
    out: list[str] = []
    at = 0
    opened = ""
    last = -1  # (where the line's trailing blanks start, found when first asked)
    for found in _CODE_PAIR.finditer(line):
        if found.start() < at:
            continue
        name = found.group(1) or found.group(2) or found.group(3) or found.group(5) or (
            found.group(7)) or _target_name(found.group(4))
        start = found.end()
        if not name_denied(name, denies) or MARKS.match(line, start) is not None or (
                (found.group(5) or found.group(7)) and _PLACEHOLDER.match(line, start)) or (
                NULLS.match(line, start) is not None):
            continue  # (another name, a value hidden already, a placeholder, None: kept)
        word = found.group("quote")
        if word:  # (-e "PASSWORD=...": to its closing quote)
            end = escaped_close(line, start, word)
            end = len(line) if end < 0 else end
        else:
            # (Markdown's inline code, "`db.password=...` as ...": an unquoted value to
            # its closing backquote, the prose after it kept.)
            end = declared_end(line, start, _in_backquotes(line, found),
                               _ARGUMENT_STOP if found.group(5) else
                               _WORD_STOP if found.group(7) else None)
        while end > start and line[end - 1] in " \t\f":
            end -= 1
        if end > start:
            out += line[at:start], redacted(line[start:end])
            at = end
            # (Open when it runs to the line's end unclosed: the last statement only.)
            quote = line[start:start + 3]
            quote = quote if quote in TRIPLES else quote[0]
            if last < 0:
                last = _last(line)  # (once a line: its trailing blanks walked once)
            opened = quote if not word and quote[0] in SCRIPT_QUOTES and end == last and (
                quote_close(line, start + 3, quote) < 0 if len(quote) == 3
                else escaped_close(line, start + 1, quote) < 0) else ""
    if not out:
        return None, ""
    out.append(line[at:])
    return "".join(out), opened


def code_pairs(line: str, denies: Callable[[str], bool]) -> Optional[str]:
    """``line`` with its assignments' denied values hidden (:func:`code_assignments`);
    None when none is."""
    return code_assignments(line, denies)[0]


def _last(line: str) -> int:
    """Where ``line``'s trailing blanks start (its length when none)."""
    end = len(line)
    while end and line[end - 1] in " \t\f":
        end -= 1
    return end


def _in_backquotes(line: str, found: re.Match[str]) -> bool:
    """Whether the statement ``found`` starts after a backquote, blanks between
    (Markdown's inline code, a template literal's text)."""
    at = found.start()
    while at and line[at - 1] in " \t\f":  # (the blanks before it, once: linear)
        at -= 1
    return found.group()[:1] == "`" or line[at - 1:at] == "`"


def _target_name(target: str) -> str:
    """The name a member's or a subscript's target assigns: its last access's
    (``$cfg['db']['password']``: ``password``; ``self::$password``, ``@password``:
    ``password``)."""
    if target.endswith(")"):
        return ""  # (a call's result: no name assigned)
    if target.endswith("]"):
        key = target[target.rindex("[") + 1:-1].strip(" \t\f")
        # (A subscript by a variable or an index, rows[i]: no name; hostile51.)
        return key[1:] if key[:1] == ":" else key[1:-1] if key[:1] in "'\"" and key else ""
    return _ACCESS.split(target)[-1].lstrip("@$")
