"""redos1's findings (super-linear work on hostile input, library-wide).

1. A run of base64 repeating the caller's (long) key, cut one character past a group of
   four, was decoded again from each place the key's spelling starts: every decode
   failed the same way (a length base64 cannot have), so a body of one such run cost
   the worker a copy and a decode of the rest of the run at each start, quadratic:
   0.11 s for 64 KiB, 1.8 s for the default ``max_body_bytes`` (256 KiB), 25.7 s for
   1 MiB of a text or JSON body, on every request of a client sending its own key.
   A start whose group of four already failed is no longer tried again: 2 ms, 5 ms,
   21 ms, the same output. Failed on main at d667c1b (the decode count grew with the run).
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode, b64encode
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import build_log, key_base64_run
from readme_metrics.har.key_base64_spellings import TO_URLSAFE, aligned_spellings
from readme_metrics.masking import utf8
from tests.support.base64_reader import key_decoded_in

KEY = "rdme_xn0123456789abcdef0123456789abcdef"


def _old_decoded_masked(run: str, key: str, masked: str, url: bool,
                        exact: bool = False) -> Optional[str]:
    """key_base64_run.decoded_masked as it was at d667c1b: each start decoded."""
    body = run.rstrip("=")
    padded = len(body) != len(run)
    spelled = utf8(key)
    starts = []
    for needle, first in aligned_spellings(key):
        at = body.find(needle)
        while at >= 0:
            if at >= first:
                starts.append(at - first)
            at = body.find(needle, at + 1)
    for skip in dict.fromkeys([*starts, 0, 1, 2, 3]):
        data_text = body[skip:]
        urlsafe = "-" in data_text or "_" in data_text or url and not (
            "+" in data_text or "/" in data_text)
        if urlsafe:
            data_text = data_text.replace("-", "+").replace("_", "/")
        try:
            data = b64decode(data_text + "=" * (-len(data_text) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if spelled not in data or exact and (
                b64encode(data).decode("ascii").rstrip("=") != data_text):
            continue
        encoded = b64encode(data.replace(spelled, utf8(masked))).decode("ascii")
        if urlsafe:
            encoded = encoded.translate(TO_URLSAFE)
        if not padded:
            encoded = encoded.rstrip("=")
        return body[:skip] + encoded
    return None


def assert_masked_as_before(written: Optional[str], old: Optional[str], key: str) -> None:
    """``written`` (_decoded_masked's) is what decoding each start wrote (``old``), unless
    a reader still decodes the key from that (a run glued from pieces encoded apart, the
    key's base64 at two places in a group of four: secrets21); then it reads the key
    from no start of ``written``."""
    if old is not None and key_decoded_in(old, key):
        assert written is not None and not key_decoded_in(written, key), (written, old)
    else:
        assert written == old


def _hostile_run(copies: int, tail: str = "A") -> str:
    """The key's base64, ``copies`` times over, cut one character past a group."""
    return b64encode(KEY.encode() * copies).decode("ascii") + tail


def _exchange(body: bytes, content_type: str) -> Exchange:
    return Exchange(
        id="redos1", started=0.0, method="POST", url="http://api.example.com/v1",
        http_version="HTTP/1.1",
        request_headers=[("Host", "api.example.com"), ("Content-Type", content_type)],
        client_ip="10.0.0.1", group=Group(KEY, None, None), request_body=body,
        request_body_size=len(body), status=200, status_text="OK")


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_run_repeating_the_key_is_decoded_a_bounded_number_of_times(
        content_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    decodes: list[int] = []

    def counted(text: str, validate: bool = False) -> bytes:
        decodes.append(len(text))
        return b64decode(text, validate=validate)

    monkeypatch.setattr(key_base64_run, "b64decode", counted)
    counts = []
    for copies in (200, 400, 800):
        run = _hostile_run(copies)
        body = run if content_type == "text/plain" else json.dumps({"a": run})
        del decodes[:]
        log = build_log(_exchange(body.encode(), content_type),
                        max_body_bytes=len(body) + 1)
        assert KEY not in json.dumps(log)
        counts.append(len(decodes))
    # Was one decode a start: 200+, 400+, 800+ (d667c1b); now at most one a group
    # of four's place and the four first, whatever the length.
    assert counts[0] == counts[1] == counts[2] <= 8, counts


_PIECES = st.lists(st.one_of(
    st.binary(max_size=6), st.just(KEY.encode()), st.just(KEY.encode()[:-1]),
    st.just(KEY.encode()[1:]), st.just(b"user:" + KEY.encode())), max_size=12)


@settings(max_examples=300, deadline=None)
@given(pieces=_PIECES, tail=st.sampled_from(["", "A", "AB", "ABC", "=", "=="]),
       cut=st.integers(0, 3), urlsafe=st.booleans(), url=st.booleans(),
       exact=st.booleans())
def test_the_masked_run_is_what_it_was(pieces: list[bytes], tail: str, cut: int,
                                       urlsafe: bool, url: bool, exact: bool) -> None:
    run = b64encode(b"".join(pieces)).decode("ascii")[cut:] + tail
    if urlsafe:
        run = run.translate(TO_URLSAFE)
    masked = "sha512-m?sked"
    assert_masked_as_before(key_base64_run.decoded_masked(run, KEY, masked, url, exact),
                            _old_decoded_masked(run, KEY, masked, url, exact), KEY)
