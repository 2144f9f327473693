"""What :class:`~readme_metrics.har.redaction.Redactor` reads a JSON text with: where a
document may start, the members that name another member's key (an echoed validation
error, a JSON Patch operation), a count of members against the document's keys (the
document itself is read and written by :mod:`~readme_metrics.har.json_literals`). Moved from
:mod:`readme_metrics.har.redaction`, as is.
"""

from __future__ import annotations

import re
from typing import Any

# The first characters of a JSON string value that may be a JSON document itself, or a
# JSON string holding one (a payload encoded twice, put in an envelope: '"{\\"a\\": ...').
JSON_FIRST = frozenset('{[ \t\n\r"')
# Where inner_document reads a string: a document, or a JSON string (read again, one level deeper).
INNER_START = re.compile(r'\s*[\[{"]')


# A member's name ends in a quote, then JSON whitespace if any, then its colon.
_SPACED_COLON = re.compile(r'"[ \t\n\r]+:')


# The members that hold the value an object names the key of in another member
# (operation_values), folded as member names are compared (``Value``, ``VALUE``, ``vAlue``): a
# ``value``, a ``values`` list (an AWS filter's, a Kubernetes selector's), a Spring
# FieldError's ``rejectedValue`` (its 400 answer echoes it), a FluentValidation failure's
# ``attemptedValue`` (ASP.NET answers echo it so), an AWS CloudFormation parameter's
# ``ParameterValue``; ``val`` (``key=password&val=...``), ``fieldValue``,
# ``attributeValue``, and a tag's ``v`` beside its ``k`` only (redaction_pairs.PAIRED_ONLY).
VALUE_MEMBERS = frozenset(("value", "values", "rejectedvalue", "attemptedvalue",
                            "parametervalue", "val", "fieldvalue", "attributevalue", "v"))
# The members naming that key as a flat name is (a name/value pair, by the denylist):
# jQuery's ``name``, .NET's ``Key``, express-validator 6's ``param``, a select option's or
# a Terraform variable's ``label``, an LDAP or SAML ``attribute``, CloudFormation's
# ``ParameterKey``; a form's ``field`` and ``property`` (a JSON object's are read as paths
# first: POINTER_MEMBERS), ``fieldName``, ``attributeName`` (SimpleDB's),
# ``parameterName`` (RDS's), ``optionName`` (Elastic Beanstalk's), a tag's ``k``. The
# same members pair a form's fields (redaction_pairs.paired_values).
NAME_MEMBERS = frozenset(("name", "key", "param", "label", "attribute", "parameterkey",
                           "field", "property", "propertyname", "fieldname",
                           "attributename", "parametername", "optionname", "k"))
# The members naming it as a path (patch_value), in the order they are asked.
POINTER_MEMBERS = ("path", "field", "property", "propertyname")
POINTER_SET = frozenset(POINTER_MEMBERS)
# The members one of which such an object needs to name its key (operation_values): a time
# series' {"ts": ..., "value": ...} has none, and is passed by at C speed.
NAMING_MEMBERS = NAME_MEMBERS | frozenset(POINTER_MEMBERS)


def member_named(node: dict[str, Any], keys: list[str], folded: list[str], name: str) -> Any:
    """The first member of ``node`` (its ``keys``, ``folded`` as names are compared) that
    folds to ``name``; None when none is there."""
    return node[keys[folded.index(name)]] if name in folded else None


def more_members_than(text: str, keys: int) -> bool:
    """Whether the JSON ``text`` may write more members than ``keys``, the number of keys
    of the document read from it. Each member's name ends in a quote, whitespace if any,
    then a colon; a string value can hold a colon, and a quote only escaped: so the
    colons, and the quotes followed by one, are at least the members. A text that names
    no member twice writes as many members as the document has keys; one that does
    writes more (the earlier values, and what they hold, are in no document). False
    means no member is named twice. Scans at memory speed (0.04 to 0.3 ms for 140 KB),
    where reading the text again with a hook costs a Python call per object (0.8 ms)."""
    if keys < 0:
        return True
    if text.count(":") <= keys:  # no colon in a string: one scan of one character
        return False
    members = text.count('":')
    if _SPACED_COLON.search(text) is not None:  # ('"key" : 1')
        members += len(_SPACED_COLON.findall(text))
    return members > keys
