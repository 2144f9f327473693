"""cpu28: a zlib pair (:data:`.base64_starts.ZLIB`, 32 since hostile46) looked for
without the pattern's search where the text holds none.

``ZLIB_START.search`` ran over every header value joined and every text archive_in
asked of (a query, a JSON answer): its first characters (``a``, ``e``, ``C`` ...) are in
most words, so SRE tried a match every few characters, ~100 Ir a character: +40k Ir a
small GET with a denylist (benchmarks/instructions.py), millions a POST's 100 KB answer.
:func:`.base64_starts.zlib_pair_in` finds the pairs' second characters (capitals) and
looks at the character before each; the pattern only past a few of them (base64).
"""

from __future__ import annotations

import base64
import json
import random
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from readme_metrics.har import inflation_budget
from readme_metrics.har.base64_archives import archive_in
from readme_metrics.har.base64_starts import ZLIB, ZLIB_START, zlib_pair_in
from readme_metrics.har.headers import headers
from readme_metrics.redaction import Redactor
from tests.support.bench_request import GET_HEADERS

DENY = Redactor(["password"])

#: The 13 request headers of benchmarks/bench.py's small GET (a browser's or an SDK's).
COMMON = GET_HEADERS
#: A JSON answer of prose, ~100 KB (bench.py's POST answer).
ANSWER = json.dumps([{"id": n, "sku": f"SKU-{n:05d}", "price": n * 1.25,
                      "description": "lorem ipsum dolor sit amet " * 2}
                     for n in range(830)])


@contextmanager
def searches() -> Iterator[list[int]]:
    """The length of each text ZLIB_START was searched in, meanwhile (the pattern's
    bound search counted: the one object every module holds)."""
    real = ZLIB_START.search  # (a lazy pattern binds its methods at this first look-up)
    seen: list[int] = []

    def counted(text, *args):  # type: ignore[no-untyped-def]
        seen.append(len(text))
        return real(text, *args)

    ZLIB_START.search = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        ZLIB_START.search = real  # type: ignore[method-assign]


def test_common_headers_and_a_prose_answer_take_no_pattern_search() -> None:
    """Before: 1 search of the headers joined, 1 of the answer (102 KB scanned)."""
    inflation_budget.BUDGET.refill()
    with searches() as seen:
        sent, _ = headers(COMMON, DENY)
        assert not archive_in(ANSWER)
        assert not archive_in("expand=owner&limit=10")
    assert [header["value"] for header in sent][:5] == [value for _, value in COMMON][:5]
    assert seen == []


def _texts() -> Iterator[str]:
    chance = random.Random(28)
    alphabet = "".join(sorted(set(pair[0] for pair in ZLIB) | set(pair[1] for pair in ZLIB)))
    yield from ("", "A", "eJ", "xeJ", "GA1", "_ga=GA1.2", "OM", "Mozilla", ANSWER[:500])
    for pair in ZLIB:
        yield pair
        yield "x" + pair
        yield "lorem " + pair + " ipsum"
        yield pair[::-1]
    for _ in range(300):
        yield "".join(chance.choice(alphabet + " .xyz") for _ in range(chance.randrange(1, 40)))
    for size in (3, 100, 3000, 20000):  # base64: past the few finds, the pattern
        yield base64.b64encode(chance.randbytes(size)).decode()
        yield base64.b64encode(zlib.compress(chance.randbytes(size), 9)).decode()


def test_pair_in_answers_as_the_pattern_search() -> None:
    for text in _texts():
        assert zlib_pair_in(text) is (ZLIB_START.search(text) is not None), text[:80]


@pytest.mark.parametrize("pair", ZLIB)
def test_a_header_holding_a_pair_still_takes_archive_in(pair: str) -> None:
    """A zlib stream of every pair's window in a header, the denylisted key inside: hidden."""
    inflation_budget.BUDGET.refill()
    value = "ok"
    for wbits in range(9, 16):
        for level in range(10):
            compressor = zlib.compressobj(level, zlib.DEFLATED, wbits)
            data = compressor.compress(b'{"password": "hunter2"}') + compressor.flush()
            encoded = base64.b64encode(data).decode()
            if encoded.startswith(pair):
                value = encoded
    if value == "ok":
        pytest.skip(f"no stream of zlib.compressobj starts {pair}")
    sent, _ = headers([*COMMON, ("X-State", value)], DENY)
    assert sent[-1]["value"] != value
