"""Which fields of a form, a query or a multipart body hold the value of a name/value pair
naming a denied key (``name=password&value=...``, ``env[0][key]=token&env[0][value]=...``),
read as the apps reading them pair such fields: by object (``env[0]``), then by position
within one (``name[]=a&value[]=b&name[]=password&value[]=s`` is two pairs, PHP's lists,
Rails' and werkzeug's ``getlist``), or by index (``name[1]``, AWS's ``Tag.1.Value``).
Pure functions over decoded ``(name, value)`` fields; the rule that says whether a name is
denied is given (:meth:`Redactor.denies <readme_metrics.har.redaction.Redactor.denies>`).
Also whether a raw form or query may hold such a value field at all
(:func:`names_a_value_field`: ``env[0][value]=``, ``v%61lue=``), asked before any is read.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Optional

from readme_metrics.har.redaction_json import NAME_MEMBERS, VALUE_MEMBERS
from readme_metrics.har.redaction_marks import REDACTED_MARK
from readme_metrics.har.redaction_names import folded_name

_PAIR_MEMBERS = NAME_MEMBERS | VALUE_MEMBERS

#: Members that pair only with each other: ``k=password&v=...`` (a tag's, OpenStreetMap's
#: spelling) is a pair, but a ``v`` beside a ``name`` is most often an API version
#: (``name=password&v=2``, a sign-up's), and a ``k`` beside a ``value`` a sort key.
PAIRED_ONLY = {"k": "v", "v": "k"}

# An explicit index after the member: PHP's and Rails' ``name[1]``, an AWS query API's
# ``Filter.1.Value.1``.
_INDEX_END = re.compile(r"(?:\[(\d+)\]|\.(\d+))$")


def pairs_with(name_member: str, value_member: str) -> bool:
    """Whether a folded naming member (``name``, ``key``, ``k`` ...) and a value member
    (``value``, ``val``, ``v`` ...) make a pair (see :data:`PAIRED_ONLY`)."""
    return PAIRED_ONLY.get(name_member, value_member) == value_member and (
        PAIRED_ONLY.get(value_member, name_member) == name_member)


def field_member(name: str) -> tuple[str, str, Optional[str]]:
    """(object, member, index) of a form field's folded ``name``, as PHP, Rails, qs and
    Spring read a bracketed or dotted one: ``env[0][name]`` and ``env[0].name`` are the
    member ``name`` of ``env[0]``; a flat ``name`` (or a list, ``name[]``) is a member of
    the form itself (""); ``name[1]`` and ``Value.1`` are the member at index ``1``
    (index None: none written)."""
    while name.endswith("[]"):
        name = name[:-2]
    index = None
    found = _INDEX_END.search(name)
    if found is not None and found.start() > 0:
        index = found.group(1) or found.group(2)
        name = name[:found.start()]
    if name.endswith("]"):
        name = name[:-1]
    cut = max(name.rfind("["), name.rfind("."))
    if cut < 0:
        return "", name, index
    return name[:cut], name[cut + 1:], index


# One naming or value field of an object: (is a value member, its member, its index, the
# field's name and value as given, whether it names a denied key).
_Field = tuple[bool, str, Optional[str], str, str, bool]


def paired_values(fields: Iterable[tuple[str, str]], denies: Callable[[str], bool],
                  decode: Optional[Callable[[str], str]] = None
                  ) -> frozenset[tuple[str, str]]:
    """The ``(name, value)`` fields (as given) holding the value of a name/value pair whose
    naming field a member of :data:`NAME_MEMBERS` holds a name ``denies`` says is denied,
    the value in a member of :data:`VALUE_MEMBERS` of the same object
    (:func:`field_member`) that :func:`pairs_with` it.

    Within one object the fields pair by index when each has one (``name[1]`` with
    ``value[1]``), else by position when as many naming as value fields alternate (``name[]=a&
    value[]=b&name[]=password&value[]=s``: every reading agrees, PHP's lists, werkzeug's
    ``getlist``, Rails' array of hashes, the last or the first of each); otherwise (one
    name and a list of values, ``a[attribute]=password&a[values][]=...``, fields in
    another order, some indexed and some not) any denied name hides every value it pairs
    with, as nothing says which is its own.

    ``decode``: what reads each value (a raw form's: percent-decoding), asked only of a
    naming or value field's; the fields returned hold values so read."""
    objects: dict[str, list[_Field]] = {}
    for name, value in fields:
        group, member, index = field_member(folded_name(name))
        if member in VALUE_MEMBERS:
            if decode is not None:
                value = decode(value)
            objects.setdefault(group, []).append((True, member, index, name, value, False))
        elif member in NAME_MEMBERS:
            if decode is not None:
                value = decode(value)
            objects.setdefault(group, []).append(
                (False, member, index, name, value, denies(value)))
    hidden: set[tuple[str, str]] = set()
    for found in objects.values():
        if not any(field[5] for field in found):
            continue
        # The k/v family apart from the others (PAIRED_ONLY): each is paired on its own.
        for family in (True, False):
            members = [field for field in found if (field[1] in PAIRED_ONLY) is family]
            hidden.update(_paired(members))
    return frozenset(hidden)


def _paired(fields: list[_Field]) -> Iterable[tuple[str, str]]:
    """The value fields of one object's ``fields`` (one family of members) that a denied
    naming field pairs with (see :func:`paired_values`)."""
    values = [field for field in fields if field[0]]
    names = [field for field in fields if not field[0]]
    if not values or not any(field[5] for field in names):
        return ()
    if all(field[2] is not None for field in fields):
        denied = {field[2] for field in names if field[5]}
        return [(field[3], field[4]) for field in values if field[2] in denied]
    if len(names) > 1 and len(names) == len(values) and all(
            field[2] is None for field in fields) and all(
            fields[at][0] is not fields[at + 1][0] for at in range(len(fields) - 1)):
        # Alternating: each value with its own name, the one before it or after it as the
        # first field is a name or a value.
        step = 1 if not fields[0][0] else -1
        return [(value[3], value[4]) for at, value in enumerate(fields)
                if value[0] and 0 <= at - step < len(fields) and fields[at - step][5]]
    return [(field[3], field[4]) for field in values]


def by_name(fields: frozenset[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """:func:`paired_values`' fields as each name's values: a form's fields are asked
    about by name first, their values read only for a name there."""
    names: dict[str, set[str]] = {}
    for name, value in fields:
        names.setdefault(name, set()).add(value)
    return {name: frozenset(values) for name, values in names.items()}


def paired_across(query: list[tuple[str, str]], body: list[tuple[str, str]],
                  denies: Callable[[str], bool]) -> frozenset[tuple[str, str]]:
    """The fields (as given) of a pair split between a request's ``query`` and its form or
    multipart ``body`` (``POST /?name=password`` with the body ``value=...``), which
    werkzeug's ``request.values``, Rails' ``params`` and PHP's ``$_REQUEST`` read as one
    form, the query's fields first: :func:`paired_values` of them together, less what
    either pairs alone (redacted already). Read only where the query holds a naming or
    value field, as few do."""
    if not query or not body or not any(
            field_member(folded_name(name))[1] in _PAIR_MEMBERS for name, _ in query):
        return frozenset()
    across = paired_values(query + body, denies)
    if not across:
        return across
    alone = paired_values(query, denies) | paired_values(body, denies)
    return frozenset(field for field in across - alone if REDACTED_MARK.fullmatch(field[1]) is None)


# The name of a field a name/value pair's value may be in, as a raw form writes it: one
# ending in "value", "values", "val" or "v" (VALUE_MEMBERS), then its closing bracket if
# any, "[]" or an index if any ("value[1]", AWS's "Value.1"), and "="
# (Redactor.paired_fields, read only where one is). Looked for in the lower-cased form
# where it spells "value" (a literal prefix: 0.2 ms in a 30 KB form holding it a
# thousand times), "val" or "v" where _SHORT_VALUE_END finds one, and with any
# letter percent-encoded (_VALUE_FIELD_ENCODED: 1.3 ms there, where a scan for such an
# escape takes 16 us).
_VALUE_FIELD = re.compile(r"values?(?:\]|%5d)?(?:\[\d*\]|%5b\d*%5d|\.\d+)*=")
# "val" and "v" (a pattern starting "v" alone doubled the look in a form of "value"s):
# looked for only where the text holds one followed by what may follow a field's name
# (_SHORT_VALUE_END: 0.4 ms in a 60 KB form, where ten substrings took 4.4).
_SHORT_VALUE_FIELD = re.compile(r"v(?:al)?(?:\]|%5d)?(?:\[\d*\]|%5b\d*%5d|\.\d+)*=")
_SHORT_VALUE_END = re.compile(r"v(?:al)?[=\]\[.%]")
_VALUE_LETTER_ESCAPED = re.compile(r"%(?:[57][356]|[46][15c])", re.IGNORECASE)
_VALUE_FIELD_ENCODED = re.compile(
    r"(?:v|%[57]6)(?:(?:a|%[46]1)(?:l|%[46]c)(?:(?:u|%[57]5)(?:e|%[46]5)(?:s|%[57]3)?)?)?"
    r"(?:\]|%5d)?(?:\[\d*\]|%5b\d*%5d|\.\d+)*=", re.IGNORECASE)


def names_a_value_field(raw: str) -> bool:
    """Whether a raw form or query may have a field named ``value`` (``env[0][value]``,
    ``values[]``, ``value[1]``, ``val``, ``v``, ``v%61lue``, in any case): see
    :data:`_VALUE_FIELD`."""
    lowered = raw.lower()
    if "value" in lowered and _VALUE_FIELD.search(lowered) is not None:
        return True
    if _SHORT_VALUE_END.search(lowered) is not None and (
            _SHORT_VALUE_FIELD.search(lowered) is not None):
        return True
    return "%" in raw and _VALUE_LETTER_ESCAPED.search(raw) is not None and (
        _VALUE_FIELD_ENCODED.search(raw) is not None)
