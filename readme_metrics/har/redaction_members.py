"""JSON objects that name their key in another member, as the lists read them: a JSON
Patch or SCIM operation (``{"op": ..., "path": "/password", "value": ...}``), a name/value
or key/value pair (``{"name": "password", "value": ...}``), a validation error echoing
the field it rejects (``{"path": "password", "value": ...}``, pydantic's ``{"loc": [...],
"input": ...}``). Pure functions of the object and the lists, for
:meth:`~readme_metrics.har.redaction.Redactor.json_text`'s walk; moved from
:mod:`readme_metrics.har.redaction`, as is.
"""

from __future__ import annotations

from typing import Any, Callable

from readme_metrics.har.redaction_json import (
    NAME_MEMBERS,
    POINTER_MEMBERS,
    POINTER_SET,
    VALUE_MEMBERS,
    member_named,
)
from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.redaction_names import folded_name, pointer_keys
from readme_metrics.har.redaction_pairs import PAIRED_ONLY, pairs_with


def operation_values(node: dict[str, Any], folded: list[str], allow_mode: bool, *,
                     has_deny: bool, denies: Callable[[str], bool], deny_keys: frozenset[str],
                     deny_paths: frozenset[str], allow_keys: frozenset[str],
                     allow_paths: frozenset[str]) -> tuple[str, ...]:
    """Redact the value (each member of :data:`VALUE_MEMBERS` it has: ``{"value":
    null, "Value": ...}``) of an object that names its key in another member; the
    members it redacted (empty: none), which the caller leaves as they are now (their
    own key's rule would redact the marker again, "[REDACTED 13]"). Such a member is
    looked for in any case (``folded``: the object's keys lower-cased, in order):
    ``Op``, ``Path``, ``Value`` (SCIM's attribute names are case-insensitive, and .NET
    and Go clients write them so), ``NAME``, ``vAlue``:

    * a JSON Patch or SCIM PATCH operation, ``op``, ``path`` and ``value`` (see
      :func:`patch_value`), and by the denylist an object with ``path`` (or Spring's
      ``field``, class-validator's ``property``, FluentValidation's
      ``propertyName``) and a value but no ``op`` (a validation error echoing the
      field it rejects: express-validator's ``{"path": "password", "value": ...}``,
      Yup's, Spring's ``{"field": "password", "rejectedValue": ...}``,
      FluentValidation's ``{"propertyName": "Password", "attemptedValue": ...}``);
    * by the denylist, a name/value pair (``{"name": "password", "value": ...}``:
      jQuery's serializeArray, a Kubernetes env, HAR's own headers; ``values``: an
      AWS filter's) or a key/value one (.NET's ``{"Key": ..., "Value": ...}``, Joi's
      error context, CloudFormation's ``{"ParameterKey": ..., "ParameterValue":
      ...}``), its name read as a flat name is (bracketed, ``user[password]``, too);
      every member of :data:`NAME_MEMBERS` is asked, however many spell one."""
    keys = list(node)
    # (A path's value: not a tag's "v", see pairs_with.)
    value_keys = tuple(key for key, lower in zip(keys, folded)
                       if lower in VALUE_MEMBERS and lower not in PAIRED_ONLY)
    pointer = None
    if not POINTER_SET.isdisjoint(folded):  # (a name/value pair has none)
        for name in POINTER_MEMBERS:
            # class-validator's (NestJS) ValidationError, {"property": "password",
            # "value": ...}; FluentValidation's {"propertyName": "User.Password",
            # "attemptedValue": ...}: a dotted path, indexes in brackets.
            pointer = member_named(node, keys, folded, name)
            if pointer is not None:
                break
    if pointer.__class__ is str:
        operation = member_named(node, keys, folded, "op") is not None
        # With no op, a pointer ("/oauth/token") is a URL's or a file's path, as in
        # an API's per-route figures ({"path": ..., "value": 1234}): a validator's
        # field path is dotted ("user.password"), never so (review49).
        if operation or has_deny and pointer[:1] not in ("/", "#"):
            done = tuple(key for key in value_keys if patch_value(
                node, key, pointer, allow_mode and operation, has_deny=has_deny,
                deny_keys=deny_keys, deny_paths=deny_paths, allow_keys=allow_keys,
                allow_paths=allow_paths))
            if done:
                return done
    if not has_deny:
        return ()
    denied = [lower for key, lower in zip(keys, folded) if lower in NAME_MEMBERS
              and node[key].__class__ is str and denies(node[key])]
    # (A tag's "v" beside its "k" only: pairs_with.)
    value_keys = tuple(key for key, lower in zip(keys, folded) if lower in VALUE_MEMBERS
                       and any(pairs_with(name, lower) for name in denied))
    for key in value_keys:
        node[key] = redacted(node[key])
    return value_keys


def echoed_input(node: dict[str, Any], deny_keys: frozenset[str], deny_paths: frozenset[str]
                 ) -> tuple[str, ...]:
    """By the denylist, redact the ``input`` of a pydantic 2 validation error (the
    detail of FastAPI's 422 answer) whose ``loc`` names a denied key: ``{"loc":
    ["body", "password"], "msg": ..., "input": "abc"}`` echoes the rejected value; its
    last name is a key, the names from any one on a path. ("input",) when it
    changed, else empty."""
    loc = node["loc"]
    if loc.__class__ is not list:
        return ()
    names = [folded_name(name) for name in loc if name.__class__ is str]
    if not names or not (names[-1] in deny_keys or any(
            ".".join(names[start:]) in deny_paths for start in range(len(names)))):
        return ()
    node["input"] = redacted(node["input"])
    return ("input",)


def patch_value(operation: dict[str, Any], value_key: str, pointer: str, allow_mode: bool, *,
                has_deny: bool, deny_keys: frozenset[str], deny_paths: frozenset[str],
                allow_keys: frozenset[str], allow_paths: frozenset[str]) -> bool:
    """Redact the ``value`` (``value_key``) of a JSON Patch operation (RFC 6902)
    whose ``path`` (``pointer``) names a listed key: ``{"op": "replace", "path":
    "/password", "value": ...}`` sets the key ``password``, whose value no key names
    (see :func:`pointer_keys`).
    By the denylist: the pointer's last key or its path is denied, or a dotted
    entry goes on below it into the value's keys (``/user`` setting
    ``{"password": ...}`` for ``user.password``): the value is redacted whole. By the
    allowlist (``allow_mode``): the value of a key it does not list is redacted, as
    for any such key, though the allowlist lists ``value``. True when it changed."""
    segments = pointer_keys(pointer)
    dotted = ".".join(segments)
    value = operation[value_key]
    nested = isinstance(value, (dict, list))
    below = dotted + "." if dotted else ""  # what a dotted entry below it starts with
    if has_deny and (
            segments and segments[-1] in deny_keys or dotted in deny_paths
            or nested and any(path.startswith(below) for path in deny_paths)):
        operation[value_key] = redacted(value)
        return True
    if allow_mode and not (
            segments and segments[-1] in allow_keys or dotted in allow_paths
    ) and (
            # (A nested value is walked as an unlisted key's by the caller, unless
            # "value" is listed.)
            not nested or "value" in allow_keys
            or any(path.endswith(".value") for path in allow_paths)):
        operation[value_key] = redacted(value)
        return True
    return False
