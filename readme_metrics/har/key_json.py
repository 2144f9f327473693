"""The caller's key in a JSON text: masked in the document's strings, member names and
numbers (the text read with its numbers as sent, written back where the key was, else kept
as sent), or in each JSON spelling of it where the text cannot be read (cut short, too
deep). Pure functions of the text and the key's :class:`~readme_metrics.har.key_forms.
KeyForms`; ``mask_text`` masks one string the document holds (``CallerKey.text``, which
looks for the key's other spellings too). Moved from :mod:`readme_metrics.har.credentials`,
as is.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from readme_metrics.har.deep_json import loads
from readme_metrics.har.json_literals import (
    EXOTIC_NUMBER,
    KeptNumber,
    dumps_as_sent,
    read_float,
    read_integer,
)
from readme_metrics.har.key_forms import MAX_SPELLED_KEY, KeyForms
from readme_metrics.har.key_numbers import NUMBER_START, NUMBER_TEXT, masked_bare_numbers
from readme_metrics.har.key_spellings import json_decoded
from readme_metrics.har.text import JSON_START

__all__ = ["bare_numbers", "json_spellings", "masked_json", "may_hold_short", "short_json"]

#: What masks one string: ``CallerKey.text``.
MaskText = Callable[[str], str]


def short_json(forms: KeyForms, text: str, mask_text: MaskText) -> str:
    """``text`` with a short key masked where a whole JSON string equals it, one level
    deep: the strings of a JSON document in it; a document in those strings that holds
    the key is hidden whole (each level written back is escaped again by the levels
    around it, so a text nested n deep grew as 2 ** n, see
    :func:`readme_metrics.har.redaction_walk.inner_document`)."""
    if may_hold_short(forms, text):
        return masked_json(forms, text, mask_text, nested=False) or json_spellings(forms, text)
    return text


def may_hold_short(forms: KeyForms, text: str) -> bool:
    """Whether a JSON ``text`` may hold a short key as a whole string: as a JSON string,
    escaped, or inside a JSON string holding JSON (its quotes escaped)."""
    return forms.escaped(text) or any(spelling in text for spelling in forms.json_keys) or (
        ("\\" in text or forms.number) and forms.holds(text)) or forms.numeric_in(text)


def _deepest(forms: KeyForms, value: str) -> str:
    """A string of a JSON document in a JSON string, with a short key masked where it
    is the key, and hidden whole behind the mask where it may be a document holding
    it (not looked into: see :func:`short_json`)."""
    if value == forms.key or (forms.key in value and JSON_START.match(value) is not None):
        return forms.masked
    return value


def masked_json(forms: KeyForms, text: str, mask_text: MaskText, nested: bool = True,
                exotic: bool = False) -> Optional[str]:
    """Mask the key in the strings of a JSON document (in its numbers too, made strings,
    for a long key that can be one); None if ``text`` is not JSON. ``nested``: a short
    key is masked in the JSON documents its strings hold too (see
    :func:`short_json`), one level deep. ``exotic``: numbers Python reads as none
    written back the same are kept as written (:class:`KeptNumber`), a Python call a
    number: asked for again when the C parser's reading could not be read or written
    for one (a document holding one was no JSON, its strings not masked)."""
    if text[:1] == "\ufeff":
        # A byte order mark a body kept (a type that is not text, octet-stream, has no
        # mark taken off: see body_redaction.redact_text) or a field's: json.loads refuses
        # the text, which an app reading it as utf-8-sig reads as JSON; the document
        # after it is masked, the mark kept.
        after = text.lstrip("\ufeff")
        scrubbed = masked_json(forms, after, mask_text, nested, exotic)
        return None if scrubbed is None else text[:len(text) - len(after)] + scrubbed
    if (NUMBER_START.match(text) is not None and text.isascii()
            and NUMBER_TEXT.fullmatch(text) is None):
        # Starts as a number and is none (a string's "1 1" for the key "1"): no JSON,
        # as the C parser reads it, told without raising and catching its error.
        return None
    key, masked = forms.key, forms.masked
    numbers: list[str] = []  # the numbers that held the key, masked
    held = key in text
    # The numbers are looked at (a Python call each) where one may be the key: as
    # written (an integer or not), or of its value written otherwise, which an integer
    # literal is only for a key written otherwise itself (1000 for "1000.0").
    as_written = (forms.inside and forms.bare or forms.number) and held
    by_value = forms.numeric_in(text)
    ints = read_integer if exotic else int
    floats = read_float if exotic else float
    constants = KeptNumber if exotic else float
    try:
        if (as_written or by_value) and JSON_START.match(text) is None:
            # A text that is no array or object (a string's "1 1" in a body of them,
            # for the key "1") is read without hooks first: the C parser says in a
            # microsecond whether it is JSON at all, where a decoder of hooks took 14.
            # (Its integers as written: int() refuses one of over 4,300 digits, which
            # the hooks below read, the key masked in it.)
            loads(text, parse_int=str)
        if as_written or by_value:
            def number(literal: str, parse: Any) -> Any:
                if forms.inside and key in literal:
                    numbers.append(literal.replace(key, masked))
                elif literal == key or forms.value is not None and forms.same(literal):
                    # A short key: the whole number only. Of its value, written in a
                    # way the looks (by_value) miss too (12.5e0, 1234.5e1): read as a
                    # float, it would be written again as the key (12.5, 12345.0).
                    numbers.append(masked)
                else:
                    return parse(literal)
                return numbers[-1]

            document = loads(
                text, parse_float=lambda literal: number(literal, floats),
                parse_int=(lambda literal: number(literal, ints))
                if as_written or by_value and forms.integer_otherwise else
                read_integer if exotic else None,
                # NaN, Infinity, -Infinity: the key's characters outside a string,
                # as a number's are (the key "Infinity": the mask goes into a string).
                parse_constant=(lambda literal: number(literal, constants))
                if as_written else constants if exotic else None)
        elif exotic:
            document = loads(text, parse_int=read_integer, parse_float=read_float,
                             parse_constant=KeptNumber)
        else:
            document = loads(text)
    except ValueError as error:
        # int() refuses an integer of over 4,300 digits (a ValueError, where a text
        # that is no JSON raises a JSONDecodeError): read again keeping it.
        if exotic or isinstance(error, json.JSONDecodeError) or (
                EXOTIC_NUMBER.search(text) is None):
            return None
        return masked_json(forms, text, mask_text, nested, True)
    except RecursionError:
        return None
    if isinstance(document, str):
        scrubbed = mask_text(document) if nested else _deepest(forms, document)
        if scrubbed is document and not numbers:
            return None
        return dumps_as_sent(scrubbed, text)
    if not isinstance(document, (dict, list)):
        return None
    changed = bool(numbers)
    # A string or a name holds the key only if the text does (or spells it escaped):
    # a document looked at for its numbers alone is not walked.
    stack = [document] if held or "\\" in text else []
    # What each distinct string came out as (a pure function of it; None: the string
    # itself, kept): a body of one string repeated (["1 1", ...] for the key "1")
    # asks mask_text once, not once a string, here and in _clean's walk of the text.
    known: dict[str, Optional[str]] = {}
    while stack:
        node = stack.pop()
        if isinstance(node, dict) and any(key in name for name in node):
            # The key as a member name (a short one: the whole name, as elsewhere).
            renamed = {mask_text(name) if nested else _deepest(forms, name): value
                       for name, value in node.items()}
            node.clear()
            node.update(renamed)
            changed = True
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for slot, value in list(items):
            if isinstance(value, (dict, list)):
                stack.append(value)
            elif isinstance(value, str):
                if value in known:
                    found = known[value]
                    scrubbed = value if found is None else found
                else:
                    scrubbed = mask_text(value) if nested else _deepest(forms, value)
                    known[value] = None if scrubbed is value else scrubbed
                if scrubbed is not value:
                    node[slot] = scrubbed
                    changed = True
    if not changed:
        # A member the parser dropped (a name given twice: the last one is kept) was
        # not walked: a key there (as is, or spelled with JSON escapes) is masked in
        # place, where that keeps the document, else the document is written again
        # without that member. A text that holds none is sent as it came.
        if not (held or "\\" in text) or _clean(forms, text, mask_text,
                                                 known if nested else {}):
            return text
        try:
            written = dumps_as_sent(document, text)
        except (ValueError, RecursionError):  # (a stack used up already: as 1e400)
            return _unwritable(forms, text, mask_text, nested, exotic)
        return _as_sent(forms, text, written, document, mask_text, exotic)
    try:
        written = dumps_as_sent(document, text)
    except (ValueError, RecursionError):
        return _unwritable(forms, text, mask_text, nested, exotic)
    return _as_sent(forms, text, written, document, mask_text, exotic)


def _unwritable(forms: KeyForms, text: str, mask_text: MaskText, nested: bool,
                exotic: bool) -> str:
    """:func:`masked_json` of a document that could not be written again: a number beyond
    a double (1e400) was read as infinity, or the text spells NaN or Infinity (no JSON,
    which Python's parser and so an app's reads), which no JSON writer writes, so it
    is read again keeping such numbers as written; else (a stack used up) the key's
    JSON spellings in the text are masked instead, the rest left as sent."""
    if not exotic and EXOTIC_NUMBER.search(text) is not None:
        again = masked_json(forms, text, mask_text, nested, True)
        if again is not None:
            return again
    return json_spellings(forms, text)


def _as_sent(forms: KeyForms, text: str, otherwise: str, document: Any,
             mask_text: MaskText, exotic: bool) -> str:
    """``text`` with the key masked in place (:func:`json_spellings`) when it reads as
    ``document`` (``text`` read, the key masked) and holds the key nowhere else, else
    ``otherwise`` (``document`` written again): the other numbers, the layout and the
    escapes stay as sent (written again, ``10.50`` is ``10.5``, ``1E2`` is ``100.0``,
    a long fraction is rounded). A key masked in a JSON document a string holds is
    ``otherwise``'s only."""
    in_place = json_spellings(forms, text)
    if in_place == text:
        return otherwise
    try:
        same = loads(in_place, parse_int=read_integer if exotic else None,
                     parse_float=read_float if exotic else None,
                     parse_constant=KeptNumber if exotic else None) == document and (
            _clean(forms, in_place, mask_text))
    except (ValueError, RecursionError):
        return otherwise
    return in_place if same else otherwise


def _clean(forms: KeyForms, text: str, mask_text: MaskText,
           known: Optional[dict[str, Optional[str]]] = None) -> bool:
    """Whether no string (member names too) or number of the JSON ``text`` is one
    :func:`masked_json` would mask, in every member: also those of an object that names
    one twice, which a document read as a dict leaves out (the last one is kept).
    ``known``: strings and what ``mask_text`` made of them, already."""
    dirty = False
    known = {} if known is None else known
    key = forms.key

    def number(literal: str) -> int:
        nonlocal dirty
        if literal == key or forms.inside and key in literal or (
                forms.value is not None and forms.same(literal)):
            dirty = True
        return 0

    try:
        stack = [loads(text, object_pairs_hook=lambda pairs: pairs,
                       parse_int=number, parse_float=number, parse_constant=number)]
    except ValueError:  # (the stack used up: not known clean, so written again)
        return False
    while stack and not dirty:
        node = stack.pop()
        if isinstance(node, str):
            if node in known:
                found = known[node]
                dirty = found is not None and found != node
            else:
                dirty = mask_text(node) != node
        elif isinstance(node, (list, tuple)):  # an array, an object's pairs, a pair
            stack.extend(node)
    return not dirty


def json_spellings(forms: KeyForms, text: str) -> str:
    """``text`` with the key masked however a JSON string spells it (each character as
    is or escaped: ``\\u002d``, ``\\/``), a short key only where a whole string equals
    it: in a JSON text the parser could not help with (cut short, a number beyond a
    double), or text that is no JSON but escapes it so."""
    key = forms.key
    if forms.value is not None and JSON_START.match(text) is not None:
        text = bare_numbers(forms, text)
    # Decoded and compared first, as most such texts do not hold the key: no pattern
    # compiled, no slow search. A key with a quote, a backslash or a control character
    # has escapes that do not decode so: the pattern looks wherever there is one.
    simple = key.isprintable() and not ('"' in key or "\\" in key)
    if (simple or "\\" not in text) and (
            key if forms.inside else f'"{key}"') not in json_decoded(text, key):
        return text
    if len(key) > MAX_SPELLED_KEY:
        return forms.hidden(text)
    pattern = forms.json_any()
    masked = json.dumps(forms.masked, ensure_ascii=False)
    if forms.inside:
        masked = masked[1:-1]  # inside a string, where the key was
        # (The escaped backslashes before it kept: see json_pattern.)
        return pattern.sub(lambda found: found[1] + masked, text)
    return pattern.sub(lambda _: masked, text)


def bare_numbers(forms: KeyForms, text: str) -> str:
    """A JSON ``text`` the parser could not read (cut short) with each number that is
    the (numeric) key masked, as written or of its value: a value after ``:``, ``[``
    or ``,``, ended by ``,``, ``]``, ``}`` or the text's end (a number cut there may
    have been longer: masked all the same)."""
    if forms.key not in text and not forms.numeric_in(text):
        return text
    return masked_bare_numbers(text, json.dumps(forms.masked), forms.same)
