"""review133: a hostile read of hostile38-40 and review130-131 (base64 archives in a
text, header values, YAML anchors).

1. PyYAML's canonical dump of bytes (``yaml.dump({"file": data}, canonical=True)``)
   writes ``!!binary`` as a double-quoted scalar: the base64's lines as ``\\n`` escapes,
   each followed by an escaped line break (``\\`` then the break and the next line's
   indentation). A run stopped at the first ``\\``: a zip's first line read alone (no
   entry whole in it: kept) and every line sent, the ``.env`` one ``yaml.safe_load``
   and ``unzip`` away; a gzip's or a zlib's first line hidden, the rest sent.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from typing import Any

import pytest
import yaml

from readme_metrics.har import inflation_budget
from readme_metrics.har.redaction import Redactor
from tests.support.sent_bodies import bodies_logged
from tests.support.zip_bodies import zip_of
from tests.test_hostile31_findings import ENV

DENY = Redactor(["password"])
YAML = "application/yaml"


@pytest.fixture(autouse=True)
def full_budget() -> None:
    inflation_budget.BUDGET.refill()


ARCHIVES = {
    "zip": zip_of({".env": ENV}),
    "stored-zip": zip_of({".env": ENV}, 0),
    "gzip": gzip.compress(ENV, mtime=0),
    "zlib": zlib.compress(ENV + bytes(range(256))),  # (over a line of base64)
}


def _lines_sent(data: bytes, sent: str) -> list[str]:
    """The lines of ``data``'s base64 (MIME's, 76 characters) found in ``sent``."""
    return [line for line in base64.encodebytes(data).decode().split()
            if len(line) >= 16 and line in sent]


def _dumps(data: bytes) -> dict[str, str]:
    return {
        "canonical": yaml.dump({"file": data}, canonical=True),
        "canonical-str": yaml.dump({"file": base64.encodebytes(data).decode()},
                                   canonical=True),
        "double-quoted": yaml.dump({"file": base64.encodebytes(data).decode()},
                                   default_style='"'),
        "continued": 'file: "' + "\\\n  ".join(
            base64.encodebytes(data).decode().split()) + '"\n',
        "continued-crlf": ('file: "' + "\\\r\n  ".join(
            base64.encodebytes(data).decode().split()) + '"\r\n'),
    }


CASES = [pytest.param(kind, style, id=f"{kind}-{style}")
         for kind in ARCHIVES for style in _dumps(b"x")]


def _loaded(text: str) -> Any:
    return yaml.safe_load(text)


@pytest.mark.parametrize("kind, style", CASES)
def test_a_yaml_double_quoted_archive_over_escaped_breaks_is_hidden(kind: str,
                                                                      style: str) -> None:
    data = ARCHIVES[kind]
    body = _dumps(data)[style]
    read = _loaded(body)["file"]
    assert (read if isinstance(read, bytes) else base64.b64decode(read)) == data
    for mime in (YAML, "text/plain"):
        for sent in bodies_logged(body.encode(), mime):
            assert _lines_sent(data, sent) == [], sent
            assert "REDACTED" in sent
            if mime == YAML and "!!binary" not in body:
                _loaded(sent)  # (still YAML; a !!binary marker is no base64: see below)


# 2. an anchor put on a key naming a denied key: its alias as a key --------------------

S = "Zq8h22Xw3K"
ANCHORED_KEYS = [
    pytest.param(f"&k password: 1\n*k : {S}\n", id="top"),
    pytest.param(f"&k password: 1\r\n*k : {S}\r\n", id="crlf"),
    pytest.param(f"- &k password: 1\n- *k : {S}\n", id="item"),
    pytest.param(f'&k "password": 1\n*k : {S}\n', id="double-quoted"),
    pytest.param(f"&k 'password': 1\n*k : {S}\n", id="single-quoted"),
    pytest.param(f"&k !!str password: 1\n*k : {S}\n", id="tagged"),
    pytest.param(f"!!str &k password: 1\n*k : {S}\n", id="tag-first"),
    pytest.param(f"a:\n  &k password: 1\nb:\n  *k : {S}\n", id="nested"),
    pytest.param(f"[{{&k password: 1}}, {{*k : {S}}}]\n", id="flow"),
    pytest.param(f"&k password: 1\n? *k\n: {S}\n", id="explicit-alias"),
    pytest.param(f"&k password: 1\nb: {{*k : {S}}}\n", id="flow-alias"),
]


def _denied_values(document: Any) -> list[Any]:
    """The values of every ``password`` key in a loaded document."""
    if isinstance(document, dict):
        return [value for key, value in document.items() if key == "password"] + [
            found for value in document.values() for found in _denied_values(value)]
    if isinstance(document, list):
        return [found for item in document for found in _denied_values(item)]
    return []


@pytest.mark.parametrize("body", ANCHORED_KEYS)
def test_an_alias_of_an_anchored_denied_key_is_a_denied_key(body: str) -> None:
    """``&k password: 1`` puts ``k`` on the key: ``*k : s`` is a ``password`` key, its
    value went out as sent (review121 read ``k: &k password`` only, a value)."""
    assert S in repr(_denied_values(_loaded(body)))
    for sent in bodies_logged(body.encode(), YAML):
        assert S not in sent, sent
        assert S not in repr(_denied_values(_loaded(sent))), sent


# 3. a YAML body's lines written anew, each a string of its own ---------------------------

def test_many_denied_keys_stay_bounded_in_memory() -> None:
    """Each line written anew (a denied key's marker) was a string and a list's slot
    until the text's end: a MiB of ``password: x`` lines 10.2x its size at the peak
    (64 KiB here, as tracemalloc is slow: 9.6x). Joined a few hundred at a time now
    (5.6x a MiB, 4.9x here: the text, its lines' positions, the text written, twice its
    size, joined)."""
    from readme_metrics.har.redaction_yaml import yaml_redacted
    from tests.support.memory import peak_bytes

    text = "password: x\n" * ((1 << 16) // 12)
    out: list[str] = []
    peak = peak_bytes(lambda: out.append(yaml_redacted(text, DENY)))
    assert out[0] == 'password: "[REDACTED 1]"\n' * ((1 << 16) // 12)
    assert peak < 7 * len(text), peak / len(text)
