"""review55's items (an adversarial review of review52's redaction landing): with both a
denylist and an allowlist, a value the name/value rules redacted was redacted again by its
own key's rule and read "[REDACTED 13]", the marker's own length (SPEC 6: "[REDACTED n]"
for a string of length n); and an object holding two of the value members (``value`` and
``Value``, ``value`` and ``rejectedValue``) had only the first redacted. Each test failed
on main at 952698c and passes with its fix, through the public middleware and the
collector on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange, reading_app
from tests.support.fake_api import Collector
from tests.support.leaks import found_spelled

SECRET = "review55-denied-secret"
HIDDEN = f"[REDACTED {len(SECRET)}]"


def _logged(collector: Collector, wrap: Callable[..., MetricsMiddleware], document: Any,
            **lists: Any) -> tuple[list[str], Any]:
    """(where the posted batch still spells SECRET, the logged request body read as JSON)
    for one POST of ``document`` as JSON, with the lists ``lists``."""
    before = len(collector.received)
    app = reading_app(headers=[("Content-Type", "text/plain")])
    _, _, entry = exchange(wrap(app, **lists), collector, method="POST",
                           body=json.dumps(document).encode(),
                           headers={"Content-Type": "application/json"})
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    return found_spelled(bodies, SECRET), json.loads(entry["request"]["postData"]["text"])


# -- 1. A value redacted by a name/value rule is not redacted again ---------------------------

# With an allowlist beside the denylist, the member holding the value ("value", "VALUE",
# "rejectedValue", "input", a pair's second item) is no listed key either: its own rule
# redacted the marker the name/value rule had written, "[REDACTED 13]" for any string.
# (reads the logged body and gives the value the rule redacted)
MARKED: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "name-value": ({"name": "password", "value": SECRET}, lambda d: d["value"]),
    "name-value-in-capitals": ({"NAME": "password", "VALUE": SECRET},
                               lambda d: d["VALUE"]),
    "key-value": ([{"Key": "password", "Value": SECRET}], lambda d: d[0]["Value"]),
    "spring-field-error": ({"errors": [{"field": "password", "rejectedValue": SECRET}]},
                           lambda d: d["errors"][0]["rejectedValue"]),
    "pydantic-error": ({"detail": [{"loc": ["body", "password"], "input": SECRET}]},
                       lambda d: d["detail"][0]["input"]),
    "json-patch": ([{"op": "replace", "path": "/password", "value": SECRET}],
                   lambda d: d[0]["value"]),
    "pair-in-an-array-of-pairs": ({"entries": [["user", "zoe"], ["password", SECRET]]},
                                  lambda d: d["entries"][1][1]),
}


@pytest.mark.parametrize("case", list(MARKED))
def test_a_value_the_name_value_rules_redact_reads_its_own_length_with_both_lists(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    document, value = MARKED[case]
    hits, logged = _logged(collector, inline_wrap, document,
                           denylist=["password"], allowlist=["email"])
    assert hits == []
    assert value(logged) == HIDDEN


def test_an_object_value_so_redacted_reads_redacted_once(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    _, logged = _logged(collector, inline_wrap,
                        {"env": [{"name": "password", "value": {"plain": SECRET}}],
                         "pairs": [["password", [SECRET]]]},
                        denylist=["password"], allowlist=["email"])
    assert logged["env"][0]["value"] == "[REDACTED]"
    # The pair's name is an element of an unlisted key's array, redacted as such.
    assert logged["pairs"] == [["[REDACTED 8]", "[REDACTED]"]]


def test_a_json_patch_value_the_allowlist_alone_redacts_reads_its_own_length(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    _, logged = _logged(collector, inline_wrap,
                        [{"op": "replace", "path": "/nickname", "value": SECRET}],
                        allowlist=["email"])
    assert logged[0]["value"] == HIDDEN


def test_with_the_denylist_alone_the_markers_are_as_before(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    document = {name: MARKED[name][0] for name in MARKED}
    _, logged = _logged(collector, inline_wrap, document, denylist=["password"])
    for name, (_, value) in MARKED.items():
        assert value(logged[name]) == HIDDEN, name
    assert logged["name-value"]["name"] == "password"


# -- 2. Every value member of such an object is redacted ---------------------------------

# _operation redacted the first of value, Value, VALUE, values, Values, VALUES,
# rejectedValue that the object had: the others went out in clear.
TWO_VALUES = {
    "value-and-Value": {"name": "password", "value": None, "Value": SECRET},
    "value-and-values": {"Name": "password", "value": "", "values": [SECRET]},
    "value-and-rejectedValue": {"field": "password", "value": "x", "rejectedValue": SECRET},
}


@pytest.mark.parametrize("case", list(TWO_VALUES))
def test_each_value_member_of_an_object_naming_a_denied_key_is_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    hits, logged = _logged(collector, inline_wrap, TWO_VALUES[case], denylist=["password"])
    assert hits == []
    assert "REDACTED" in json.dumps(logged)


# -- 2b. Validation errors echoing the rejected value under other names -------------------

# review52 read Spring's {"field", "rejectedValue"}; NestJS's class-validator answers its
# ValidationError ({"property": "password", "value": ...}, its "target" the whole body)
# and ASP.NET's FluentValidation its failures ({"propertyName": "Password",
# "attemptedValue": ...}, a dotted path, PascalCase too): the value went out in clear.
ECHOED = {
    "class-validator": [{"target": {"email": "zoe@x", "password": SECRET}, "value": SECRET,
                         "property": "password", "children": [],
                         "constraints": {"minLength": "password is too short"}}],
    "fluent-validation": {"errors": [{"propertyName": "Password", "errorMessage": "short",
                                      "attemptedValue": SECRET, "severity": 0}]},
    "fluent-validation-pascal-path": {"Errors": [
        {"PropertyName": "Items[0].Password", "AttemptedValue": SECRET}]},
}
ECHOED_KEPT = [{"property": "color", "value": "red"},
               {"propertyName": "Email", "attemptedValue": "zoe@x"},
               {"property": "/password", "value": 3}]


@pytest.mark.parametrize("case", list(ECHOED))
def test_a_validation_error_echoing_a_denied_field_s_value_is_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    before = len(collector.received)
    app = reading_app(status="400 Bad Request", headers=[
        ("Content-Type", "application/json")], body=[json.dumps(ECHOED[case]).encode()])
    _, _, entry = exchange(inline_wrap(app, denylist=["password"]), collector)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, SECRET) == []
    assert HIDDEN in entry["response"]["content"]["text"]


@pytest.mark.parametrize("document", ECHOED_KEPT, ids=range(len(ECHOED_KEPT)))
def test_such_members_naming_no_denied_field_are_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        document: Any) -> None:
    _, logged = _logged(collector, inline_wrap, document, denylist=["password"])
    assert logged == document


# -- 3. A UTF-16/32 form its declared charset misreads ------------------------------------

# review52 hid a UTF-16/32 form with no mark and no charset whose first characters are
# beyond ASCII when it spells a denied name NUL-spaced. With a charset declared, such a
# form is read in it, whatever its bytes are: UTF-16-BE declared "utf-16" (big-endian
# by RFC 2781 with no mark) was read little-endian, its names byte-swapped (U+7000 for
# "p"); UTF-32 declared "utf-16", its names NUL-spaced. No name matched: the secret went
# out spelled in its bytes, as the leak hunt (and a reader of the log) reads them. And
# review52's rule, with no charset, found an ASCII name only: a denied name beyond ASCII
# ("パスワード") in UTF-16/32 with no mark and no charset went out NUL-spaced as well.
# (codec, declared charset, read right by it)
FORMS = [("utf-16-be", "utf-16", False), ("utf-16-le", "utf-16be", False),
         ("utf-16-be", "utf-16le", False), ("utf-32-le", "utf-16", False),
         ("utf-16-le", "", False), ("utf-16-be", "", False), ("utf-32-le", "", False),
         # Ones its charset reads are redacted field by field, as before.
         ("utf-16-le", "utf-16", True), ("utf-16-be", "utf-16be", True),
         ("utf-32-le", "utf-32", True)]


@pytest.mark.parametrize(("codec", "charset", "read"), FORMS)
@pytest.mark.parametrize("name", ["password", "パスワード"])
def test_a_utf16_or_32_form_its_declared_charset_misreads_does_not_send_a_denied_value(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        codec: str, charset: str, read: bool, name: str) -> None:
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(reading_app(), denylist=[name]), collector,
                           method="POST", body=f"名前=山田&{name}={SECRET}".encode(codec),
                           headers={"Content-Type": "application/x-www-form-urlencoded"
                                                    + (f"; charset={charset}" * bool(charset))})
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, SECRET) == []
    posted = entry["request"]["postData"]
    if read:
        assert posted["params"] == [{"name": "名前", "value": "山田"},
                                    {"name": name, "value": HIDDEN}]
    else:
        assert posted["text"] == "[REDACTED]"
