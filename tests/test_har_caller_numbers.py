"""A caller's key that is a number is masked wherever a JSON number has its value (SPEC 6).

A grouping function returning ``{"api_key": 1000}`` (a database id) gives the key "1000";
a JSON number that is it as written was masked (leak2), but the same value written
otherwise (``1000.0``, ``1e3``, ``1E+3``, ``10e2``: what a client's JSON encoder writes
for a float, Jackson's ``1.0E3``) went out in clear. Whoever reads the JSON reads the
same value, so it is masked as the key is, the body staying JSON.

Decided: only JSON numbers (in a JSON body, a JSON document in a header, form field or
query value, a JSON text cut short); a string holds the key as written only ("1e3" is
not 1000 as a string), and ``1_000`` is no JSON number. Equality is exact (decimal),
so 1000.0000000000001 is not 1000, though a double reads it so.
"""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal
from typing import Any, Iterable
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.grouping import Identifier
from readme_metrics.har import build_log
from readme_metrics.masking import mask
from tests.support.exchanges import make_exchange
from tests.support.har_check import assert_valid_log


def _with_json(text: str, place: str) -> Any:
    data = text.encode()
    if place == "header":
        return make_exchange(request_headers=[("X-Data", text)])
    if place == "form":
        body = b"d=" + quote(text).encode()
        return make_exchange(method="POST", request_body=body, request_body_size=len(body),
                             request_headers=[("Content-Type",
                                               "application/x-www-form-urlencoded")])
    if place == "query":
        return make_exchange(url=f"http://api.example.com/v1?d={quote(text)}")
    return make_exchange(method="POST", request_headers=[("Content-Type", "application/json")],
                         request_body=data, request_body_size=len(data),
                         response_headers=[("Content-Type", "application/json")],
                         response_body=data, response_body_size=len(data))


def _texts(log: dict[str, Any], place: str) -> list[str]:
    har = log["request"]["log"]["entries"][0]
    if place == "header":
        return [har["request"]["headers"][-1]["value"]]
    if place == "form":
        return [har["request"]["postData"]["params"][0]["value"]]
    if place == "query":
        return [har["request"]["queryString"][0]["value"]]
    return [har["request"]["postData"]["text"], har["response"]["content"]["text"]]


def _numbers(node: Any) -> Iterable[Decimal]:
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, list):
        for value in node:
            yield from _numbers(value)
    elif isinstance(node, Decimal):
        yield node


def _sent(key: str, text: str, place: str, cut: int = 1 << 20) -> list[str]:
    exchange = _with_json(text, place)
    exchange.group = Group(key)
    log = json.loads(json.dumps(build_log(exchange, max_body_bytes=cut)))
    assert_valid_log(log)
    return _texts(log, place)


@pytest.mark.parametrize(("key", "document", "expected"), [
    pytest.param("1000", '{"a": 1000.0, "b": 1e3, "c": 1E+3, "d": 10e2, "e": 0.1e4}',
                 {k: mask("1000") for k in "abcde"}, id="an-integer-key-written-otherwise"),
    pytest.param("1000", '[100000e-2, 1.000E3, -1000.0, 1000.5, 10000, 100, "1e3"]',
                 [mask("1000"), mask("1000"), -1000.0, 1000.5, 10000, 100, "1e3"],
                 id="only-that-value-and-not-in-strings"),
    pytest.param("1000.0", '{"a": 1000, "b": 1e3, "c": 1001}',
                 {"a": mask("1000.0"), "b": mask("1000.0"), "c": 1001}, id="a-float-key"),
    pytest.param("12.5", "[12.50, 1.25e1, 125e-1, 12.55, 1.25]",
                 [mask("12.5"), mask("12.5"), mask("12.5"), 12.55, 1.25], id="a-fraction"),
    pytest.param("1e+16", "[10000000000000000, 1.0E16, 1e16, 1e15]",
                 [mask("1e+16"), mask("1e+16"), mask("1e+16"), 1e15], id="a-large-float"),
    pytest.param("12345678", '{"a": 1.2345678e7, "b": 1234567.8}',
                 {"a": mask("12345678"), "b": 1234567.8}, id="a-long-key"),
    pytest.param("1000", "[1000.0000000000001]", [1000.0000000000001],
                 id="exact-not-as-a-double"),
])
def test_a_json_number_of_the_keys_value_is_masked(key: str, document: str,
                                                   expected: Any) -> None:
    for text in _sent(key, document, "body"):
        assert json.loads(text) == expected, text


@pytest.mark.parametrize("place", ["header", "form", "query", "cut"])
def test_a_number_of_the_keys_value_in_json_held_elsewhere_is_masked(place: str) -> None:
    document = '{"id": 1e3, "pad": "xxxxxxxxxxxxxxxxxxxx"}'
    for text in _sent("1000", document, "body" if place == "cut" else place,
                      cut=20 if place == "cut" else 1 << 20):
        assert "1e3" not in text and mask("1000") in text, text


# -- the property ---------------------------------------------------------------------------


def _spelled(value: Decimal, zeros: int, style: str, upper: bool, plus: bool) -> str:
    """``value`` as a JSON number written otherwise: ``zeros`` more trailing zeros in its
    mantissa, as a plain decimal or with an exponent (its dot after the first digit or
    none)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    if mantissa == "0":
        zeros = 0  # 000e-2 is no JSON number
    mantissa += "0" * zeros
    exponent -= zeros
    minus = "-" if sign else ""
    if style == "plain":
        text = format(value, "f")
        if zeros:
            text += ("" if "." in text else ".") + "0" * zeros
        return text
    if style == "dot" and len(mantissa) > 1:
        exponent += len(mantissa) - 1
        mantissa = f"{mantissa[0]}.{mantissa[1:]}"
    mark = "E" if upper else "e"
    return f"{minus}{mantissa}{mark}{'+' if plus and exponent >= 0 else ''}{exponent}"


_PLACEHOLDER, _OTHER = "\x00key\x00", "\x00other\x00"
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_DOCUMENTS = st.recursive(
    st.one_of(st.integers(-10**6, 10**6), st.text(max_size=6), st.just(_PLACEHOLDER),
              st.just(_OTHER), st.booleans(), st.none()),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=4), children, max_size=4)),
    max_leaves=10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(given_key=st.one_of(st.integers(-10**12, 10**12),
                           st.floats(allow_nan=False, allow_infinity=False)),
       document=_DOCUMENTS, zeros=st.integers(0, 3),
       style=st.sampled_from(["plain", "exponent", "dot"]), upper=st.booleans(),
       plus=st.booleans(), place=st.sampled_from(["body", "header", "form", "cut"]),
       cut=st.integers(1, 120))
def test_no_json_number_of_the_keys_value_is_sent(
        given_key: Any, document: Any, zeros: int, style: str, upper: bool, plus: bool,
        place: str, cut: int) -> None:
    """Whatever number the grouping function returns, and however a JSON document writes
    a number of its value, none is sent; a number of another value stays as it was."""
    if place in ("header", "form") and not isinstance(document, (dict, list)):
        # A header or field that is one bare number is text, the key as written only (a
        # body is read as JSON whatever its type: ``1.0e1`` is masked there).
        document = [document]
    group = Identifier(lambda req: {"api_key": given_key},
                       logging.getLogger("tests.leak3"))(None)
    assert group is not None
    key = group.id
    value = Decimal(key)
    other = value + 1
    text = json.dumps(document).replace(
        json.dumps(_PLACEHOLDER), _spelled(value, zeros, style, upper, plus)).replace(
        json.dumps(_OTHER), _spelled(other, 0, style, upper, plus))
    sent = _sent(key, text, "body" if place == "cut" else place,
                 cut=cut if place == "cut" else 1 << 20)
    for sent_text in sent:
        try:
            numbers = list(_numbers(json.loads(sent_text, parse_float=Decimal,
                                               parse_int=Decimal)))
        except ValueError:  # cut short: each whole number standing as a value (one cut
            # in its exponent, "1.5e", is no number; a short key's first digits at the
            # cut are not masked, as written or not)
            numbers = [Decimal(found) for found in re.findall(
                r"(?<=[\[:,] )-?[0-9][0-9.eE+\-]*(?=[,\]}]|$)", sent_text)
                if _JSON_NUMBER.fullmatch(found)]
        assert value not in numbers, (key, text, sent_text)
        if place != "cut" and _OTHER in json.dumps(document):
            assert other in numbers, (key, text, sent_text)
