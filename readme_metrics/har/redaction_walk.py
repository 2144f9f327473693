"""A JSON document by the lists (SPEC section 6): parsed, walked key by key without
recursion (bare entries anywhere, dotted entries as paths from the root, arrays
transparent), a name/value or JSON Patch object read by the key it names, a JSON string
holding a document read again (up to
:data:`~readme_metrics.har.redaction_query.MAX_INNER_DEPTH` levels), one holding a URL
or form read by :func:`~readme_metrics.har.redaction_query.link_in`, one holding lines of
pairs (a ``.env``) as text/plain's lines are (:func:`~.env_lines.string_pairs`), and one
holding text
before a document read as a text body is (:func:`~.redaction_strings.members_in`);
written back only when something changed. Pure functions of the text and a
:class:`~readme_metrics.har.redaction.Redactor`, whose lists and verdicts they read; moved
from :mod:`readme_metrics.har.redaction`. A form or multipart field's value is
:mod:`.redaction_fields`', a string that is no document :mod:`.redaction_strings`'.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from readme_metrics.har.base64_archives import archive_in
from readme_metrics.har.base64_runs import archive_held
from readme_metrics.har.deep_json import repeats_a_name, too_deep
from readme_metrics.har.env_lines import string_pairs
from readme_metrics.har.json_literals import dumps_as_sent, read_as_sent
from readme_metrics.har.redaction_json import (
    INNER_START,
    JSON_FIRST,
    NAMING_MEMBERS,
    VALUE_MEMBERS,
    more_members_than,
)
from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.redaction_members import echoed_input, operation_values
from readme_metrics.har.redaction_names import folded_name
from readme_metrics.har.redaction_query import MAX_INNER_DEPTH
from readme_metrics.har.redaction_strings import lines_after_bracket as _lines_after_bracket
from readme_metrics.har.redaction_strings import members_in

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["escapes_quote", "inner_document", "json_text", "members_in", "walk"]


def json_text(redactor: Redactor, text: str, listed: bool = False, depth: int = 0) -> str | None:
    """Redact a JSON document; None when ``text`` is not JSON.

    When nothing needs redacting the original text is returned unchanged (byte
    exact); otherwise the document is re-serialised compactly with non-ASCII kept
    (so is one naming a member twice that could hide a listed key under an earlier
    value: only the last is kept).
    ``listed``: the document is the value of a key the allowlist lists (a JSON form
    field), so only the denylist applies inside it. ``depth``: how many JSON strings
    hold this document (see :func:`inner_document`).
    """
    try:
        # Deeper than deep_json.MAX_DEPTH: not JSON (redacted whole where it could
        # hold a listed key), as the parser's recursion could crash a small stack.
        document = read_as_sent(text)
    except (ValueError, TypeError):
        return None
    if not redactor.active:
        return text
    allow_mode = redactor.has_allow and not listed
    if not isinstance(document, (dict, list)):
        # A bare value has no key: with an allowlist, it is not listed.
        if allow_mode:
            return json.dumps(redacted(document))
        if redactor.has_deny and document.__class__ is str and archive_held(redactor, document):
            # An archive's base64 (after a prefix too: "file=UEsDB..."), as a member's
            # string is read (hostile35: a document of one string went out as written).
            return json.dumps(redacted(document))
        if redactor.has_deny and document.__class__ is str:
            # JSON encoded twice (JSON.stringify of a string): a document in a string,
            # read by the denylist as a member's string value is (inner_document); so is a
            # URL or a form (link_in: an endpoint answering a presigned URL alone).
            # Text before a document in it (x{"password": ...}) too, its members read
            # as a text body's are (members_in).
            holder = [document]
            if document[:1] in JSON_FIRST:
                found = inner_document(redactor, holder, 0, document, depth) or (
                    members_in(redactor, holder, 0, document)) or (
                    _lines_after_bracket(redactor, holder, 0, document, depth))
            else:
                found = ("=" in document or "%" in document) and string_pairs(
                    redactor, holder, 0, document)
                found = members_in(redactor, holder, 0, holder[0]) or found
            if found:
                # Characters beyond ASCII as sent, as a redacted document's are (but
                # a lone surrogate, which UTF-8 cannot carry: see below).
                out = json.dumps(holder[0], ensure_ascii=False)
                try:
                    out.encode("utf-8")
                except UnicodeEncodeError:
                    out = json.dumps(holder[0])
                return out
        return text
    try:
        quoted = escapes_quote(text)
        # A string holding a member's name: an escaped quote, or a single quote.
        changed, keys = walk(redactor, document, allow_mode, quoted, depth,
                             redactor.has_deny and (quoted or "'" in text),
                             redactor.has_deny and archive_in(text))
        # A member named twice keeps its last value only in ``document``, as
        # json.loads (Flask, Django, Starlette) reads it: an earlier value, never
        # walked, may hold a listed key, so such a text is written back from the
        # document when it could ({"a": {"password": "x"}, "a": 1} is {"a":1}).
        # The text names no member twice when it has no more members than the
        # document has keys (:func:`more_members_than`): known without reading it
        # again, most often.
        if not changed and not ((allow_mode or redactor.mentions_key(text, True))
                                and more_members_than(text, keys)
                                and repeats_a_name(text)):
            return text
        # Numbers as written; "\ud800" escapes (decoded to lone surrogates, which
        # cannot be sent as UTF-8) escaped again in that (rare) case.
        return dumps_as_sent(document, text)
    except Exception:  # noqa: BLE001 - never leak: hide the whole document instead
        return json.dumps(redacted(text))

def escapes_quote(text: str) -> bool:
    """Whether ``text`` (a JSON document's text) holds an escaped quote, or a ``\\u``
    escape that may spell one: a string in it may then be a document (the backslash
    looked for first, found at memory speed)."""
    return "\\" in text and ('\\"' in text or "\\u" in text)

def walk(redactor: Redactor, root: dict[str, Any] | list[Any], allow_root: bool,
          quoted: bool = False, depth: int = 0, pieces: bool = False,
          archives: bool = False) -> tuple[bool, int]:
    """Redact ``root`` in place: (True when anything changed, the number of keys of
    the objects walked, or -1 when some were not walked: the value of an allowed key
    with no denylist).

    ``quoted``: the text holds an escaped quote (or a ``\\u`` escape, which may spell
    one), so a string value in it may be a JSON document with keys (see
    :func:`inner_document`); without one, none is. ``pieces``: a string value may hold
    a member's name in quotes (an escaped quote, or a single one) in text before a
    document (:func:`members_in`); without one, none does. ``archives``: a string
    value may be base64 of a zip or a compressed file (:mod:`.base64_archives`: one
    spelling a denied key hidden; hostile33); without one, none is.

    Iterative (an explicit stack) so that documents nested as deep as the JSON parser
    accepts cannot exhaust the Python stack.
    """
    deny_keys, deny_paths = redactor.deny_keys, redactor.deny_paths
    allow_keys, allow_paths = redactor.allow_keys, redactor.allow_paths
    has_deny, track = redactor.has_deny, redactor.track_paths
    inner = has_deny and quoted
    links = has_deny  # a string may be a URL whose query names a denied key (link_in)
    naming, values = NAMING_MEMBERS, VALUE_MEMBERS
    changed = False
    keys = 0
    # Every object is walked but an allowed key's value with no denylist, and, with
    # neither list applying from the root (a listed form field, no denylist), any
    # object below the root.
    whole = has_deny or allow_root
    # (node, path of the key holding it, allowlist applies)
    stack: list[tuple[Any, str, bool]] = [(root, "", allow_root)]
    while stack:
        node, path, allow_mode = stack.pop()
        if isinstance(node, dict):
            keys += len(node)
            # The members a rule below redacted already: a member's own rule (denied,
            # or not listed) leaves them so, "[REDACTED n]" of the value, not of that.
            done: tuple[str, ...] = ()
            # (Lower-cased once for the rules below and the loop: name/value members
            # in any case, {"nAme": ..., "vAlue": ...}, as any key is matched.)
            folded = list(map(str.lower, node))
            if (has_deny or allow_mode) and not values.isdisjoint(folded):
                if not naming.isdisjoint(folded):
                    done = operation_values(
                        node, folded, allow_mode, has_deny=has_deny, denies=redactor.denies,
                        deny_keys=deny_keys, deny_paths=deny_paths,
                        allow_keys=allow_keys, allow_paths=allow_paths)
            elif has_deny and "input" in node and "loc" in node:
                done = echoed_input(node, deny_keys, deny_paths)
            if done:
                changed = True
            for (key, value), lower in zip(node.items(), folded):
                if not lower.isascii():
                    lower = folded_name(key)
                here = (f"{path}.{lower}" if path else lower) if track else ""
                nested = isinstance(value, (dict, list))
                if lower in deny_keys or (track and here in deny_paths):
                    if key not in done:
                        node[key] = redacted(value)
                    changed = True
                elif allow_mode and not (lower in allow_keys or (track and here in allow_paths)):
                    # Not listed: an object or array is walked (a key in it may be), a
                    # value redacted.
                    if nested:
                        stack.append((value, here, True))
                    elif key not in done:
                        node[key] = redacted(value)
                        changed = True
                # A listed key's value (kept whole, but the denylist still wins deeper
                # down), or any value where no allowlist applies: one branch for both.
                elif nested:
                    if has_deny:
                        stack.append((value, here, False))
                    else:
                        # Kept whole, not walked. (Where no allowlist applies and there
                        # is no denylist, only the root is walked, and whole is False.)
                        whole = False
                elif archives and value.__class__ is str and archive_held(redactor, value):
                    node[key] = redacted(value)
                    changed = True
                elif inner and value.__class__ is str and value[:1] in JSON_FIRST:
                    changed = inner_document(redactor, node, key, value, depth) or (
                        pieces and members_in(redactor, node, key, value)) or (
                        links and _lines_after_bracket(redactor, node, key, value, depth)
                    ) or changed
                elif links and value.__class__ is str and (
                        "=" in value or "%" in value):
                    changed = string_pairs(redactor, node, key, value, depth) or changed
                    if pieces:  # (the members of text before a document, after its pairs)
                        changed = members_in(redactor, node, key, node[key]) or changed
                elif pieces and value.__class__ is str and ":" in value:
                    changed = members_in(redactor, node, key, value) or changed
            if archives and any(archive_in(key) for key in node):
                # A key that is an archive's base64 ({"UEsDB...": 1}): hidden, its value
                # kept (hostile35: sent as written).
                changed = _keys_hidden(redactor, node) or changed
        else:
            for index, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    if has_deny and value.__class__ is list and len(value) >= 2 and (
                            value[0].__class__ is str and redactor.denies(value[0])):
                        # A pair in an array of pairs ([["password", ...]]: JavaScript's
                        # Object.entries, URLSearchParams' init, Python's dict items),
                        # its name read as a flat name is, as a name/value object's;
                        # a row with more after the value too (["password", "s",
                        # "meta"]: a tuple of name, value and its attributes).
                        value[1] = redacted(value[1])
                        changed = True
                        if allow_mode:  # its name too, not listed (its value once)
                            value[0] = redacted(value[0])
                            for at in range(2, len(value)):  # the rest, as walked
                                if isinstance(value[at], (dict, list)):
                                    stack.append((value[at], path, True))
                                else:
                                    value[at] = redacted(value[at])
                            continue
                    stack.append((value, path, allow_mode))
                elif allow_mode:
                    # An array element belongs to the key holding the array; one of a
                    # root array has no key, so no key lists it (as a bare value).
                    node[index] = redacted(value)
                    changed = True
                elif archives and value.__class__ is str and archive_held(redactor, value):
                    node[index] = redacted(value)
                    changed = True
                elif inner and value.__class__ is str and value[:1] in JSON_FIRST:
                    changed = inner_document(redactor, node, index, value, depth) or (
                        pieces and members_in(redactor, node, index, value)) or (
                        links and _lines_after_bracket(redactor, node, index, value, depth)
                    ) or changed
                elif links and value.__class__ is str and (
                        "=" in value or "%" in value):
                    changed = string_pairs(redactor, node, index, value, depth) or changed
                    if pieces:  # (the members of text before a document, after its pairs)
                        changed = members_in(redactor, node, index, node[index]) or changed
                elif pieces and value.__class__ is str and ":" in value:
                    changed = members_in(redactor, node, index, value) or changed
    return changed, keys if whole else -1

def _keys_hidden(redactor: Redactor, node: dict[str, Any]) -> bool:
    """Rename each key of ``node`` that :func:`~.base64_runs.archive_held` reads to its
    ``[REDACTED n]`` (``[REDACTED n] 2`` ... for a name another key has: no value is
    lost), in place and in order; True when one was."""
    hidden = [key for key in node if archive_held(redactor, key)]
    if not hidden:
        return False
    taken = set(node).difference(hidden)
    names: dict[str, str] = {}
    for key in hidden:
        name, count = redacted(key), 1
        while name in taken:
            count += 1
            name = f"{redacted(key)} {count}"
        taken.add(name)
        names[key] = name
    items = list(node.items())
    node.clear()
    node.update((names.get(key, key), value) for key, value in items)
    return True


def inner_document(redactor: Redactor, node: Any, at: Any, text: str, depth: int = 0) -> bool:
    """Redact ``node[at]``, a string that is itself a JSON document (a webhook's
    ``"Message": "{\\"token\\": ...}"``), by the denylist; True when it changed.

    ``depth``: how many JSON strings hold ``node`` already. Each level written back
    is escaped once more by each level around it (a backslash doubles), so documents
    in strings in strings ... grew as 2 ** depth: a 6 KB body (its backslashes
    spelled ``\\u005c``) was logged as 268 MB, and 16 KB exhausted the memory. Past
    :data:`MAX_INNER_DEPTH` levels such a string is hidden whole if it could hold a
    denied key, and left as it is otherwise; so is a document nested deeper than
    :data:`~readme_metrics.har.deep_json.MAX_DEPTH`, which is not read."""
    if INNER_START.match(text) is None or not (
            # (or a URL in it naming a key percent-encoded: ?pass%77ord=, see link_in)
            redactor.mentions_key(text) or redactor.names_key_encoded(text)
            # (or a zip as base64 in a string of it: review126, sent as written)
            or redactor.has_deny and archive_in(text)):
        return False
    if depth >= MAX_INNER_DEPTH:
        node[at] = redacted(text)
        return True
    document = json_text(redactor, text, listed=True, depth=depth + 1)
    if document is None and too_deep(text) and redactor.mentions_key(text, True):
        node[at] = redacted(text)  # (listed: only the denylist applies inside it)
        return True
    if document is None or document == text:
        return False
    node[at] = document
    return True
