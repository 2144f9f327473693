"""review58's findings: hostile12's fix for a JSON number of over 4,300 digits covered a
text that is that number alone; a document holding one anywhere was still no JSON to
CallerKey (int() refuses such a number: Python's int_max_str_digits), so the key was
masked as plain text: a short key in a JSON document held in a string went out in
clear, and a long number key left a number masked as bare text (no longer JSON)."""

from __future__ import annotations

import json

import pytest

from readme_metrics.har.credentials import CallerKey

_LONG = "9" * 4400  # int() refuses it (over 4,300 digits)
_SHORT = "7"
_TEMPLATES = [
    pytest.param("k1", '{"n": %s, "d": "{\\"c\\": \\"k1\\"}"}',
                 id="short-key-in-a-document-in-a-string"),
    pytest.param("k1", '[%s, "[\\"k1\\"]"]', id="short-key-in-an-array-in-a-string"),
    pytest.param("12345678901", '{"n": %s, "id": 12345678901}', id="number-key-as-a-number"),
    pytest.param("12345678901", '[%s, 12345678901.0]', id="number-key-by-value"),
    pytest.param("1000", '[%s, 1000]', id="short-number-key"),
    pytest.param("rdme_abcdefgh1234", '{"n": %s, "id": "rdme_abcdefgh\\u00312\\u00334"}',
                 id="long-key-escaped"),
    pytest.param("rdme_abcdefgh1234",
                 '{"n": %s, "d": "{\\"c\\": \\"rdme_abcdefgh\\\\u00312\\\\u00334\\"}"}',
                 id="long-key-escaped-in-a-document-in-a-string"),
]


@pytest.mark.parametrize(("key", "template"), _TEMPLATES)
def test_a_document_holding_an_integer_of_over_4300_digits_is_masked_as_a_shorter_one(
        key: str, template: str) -> None:
    """The same document with a short number in place of the long one is masked the same
    way, and stays JSON: the long number is written back as sent."""
    caller = CallerKey(key)
    short, long = caller.body(template % _SHORT), caller.body(template % _LONG)
    assert long.replace(_LONG, _SHORT) == short
    assert _LONG in long
    json.loads(long.replace(_LONG, _SHORT))  # valid JSON (the long number too)
    assert key not in long.replace(caller.masked, "") or len(key) < 8 and (
        f'"{key}"' not in long and f'\\"{key}\\"' not in long)


@pytest.mark.parametrize("beyond", ["1e400", "-1e999", "1.5E+400", "NaN", "-Infinity"])
@pytest.mark.parametrize(("key", "template"), _TEMPLATES)
def test_a_document_holding_a_number_beyond_a_double_is_masked_as_a_finite_one(
        key: str, template: str, beyond: str) -> None:
    """A number beyond a double (read as infinity, which json.dumps refuses to write), or
    NaN or Infinity (no JSON, but Python's parser, and so the app, reads them) made the
    document one that could not be written again: the key was then masked by its
    spellings in the text only, and one in a JSON document held in a string stayed (a
    short key, or a long one spelled with escapes)."""
    caller = CallerKey(key)
    finite, beyond_text = template % "1e+300", template % beyond  # (1e+300: as written back)
    assert caller.body(beyond_text).replace(beyond, "1e+300") == caller.body(finite)
