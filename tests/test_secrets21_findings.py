"""secrets21's findings (SPEC 6: the caller's key never leaves the process in clear).

1. A run of base64 glued from pieces encoded apart (two tokens written back to back)
   holds the key's base64 at different places in a group of four. Only the decode from
   the first start that yielded the key was masked: the text before that start, and a
   spelling at another place in a group after it, stayed as written. ``x <run> y``
   (text/plain), ``<run>`` the key's base64 then the same minus its last character and
   ``87``: the posted log kept ``cmRtZV94bjhzOWgzYTdiMmMxZDBlNWY0Zw`` (house5's
   mutation run). Present since d667c1b. The written text is now decoded again from
   where a spelling is left, at most once for each place in a group of four.
"""

from __future__ import annotations

import json
from base64 import b64encode
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import build_log, key_base64
from readme_metrics.har.key_base64_spellings import TO_URLSAFE
from readme_metrics.masking import mask
from tests.support.base64_reader import key_decoded_in

KEY = "rdme_xn8s9h3a7b2c1d0e5f4g"  # 25 bytes: its base64's last character holds 4 bits
MASKED = "sha512-m?sked"


def _spelled(data: bytes) -> str:
    return b64encode(data).decode("ascii").rstrip("=")


def test_a_run_holding_the_keys_base64_at_two_places_in_a_group_is_masked_whole() -> None:
    """Failed before: the first copy (``cmRtZV94...``) was in the posted log."""
    spelled = _spelled(KEY.encode())
    body = f"x {spelled}{spelled[:-1]}87 y".encode()
    exchange = Exchange(
        id="secrets21", started=0.0, method="POST", url="http://api.example.com/v1",
        http_version="HTTP/1.1",
        request_headers=[("Host", "api.example.com"), ("Content-Type", "text/plain")],
        client_ip="10.0.0.1", group=Group(KEY, None, None), request_body=body,
        request_body_size=len(body), status=200, status_text="OK")
    text = json.dumps(build_log(exchange, max_body_bytes=1000))
    assert spelled not in text
    assert not key_decoded_in(text, KEY), text


def test_a_spelling_after_the_start_decoded_at_another_place_is_masked() -> None:
    """The key's base64 at the run's start, and again three characters into a group:
    the first decodes from the start, the second did not (kept as written)."""
    spelled = _spelled(KEY.encode())
    run = f"{spelled}A{spelled}A"
    written = key_base64.masked_base64_runs(f"t {run} u", KEY, MASKED)
    assert not key_decoded_in(written, KEY), written


_FILLER = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                  max_size=6)
# A piece: the key's bytes (or "user:" and them) after 0 to 2 bytes, encoded apart,
# cut by 0 to 3 characters at its start and 0 or 1 at its end, random base64 after it.
_PIECES = st.lists(st.tuples(
    st.sampled_from([KEY.encode(), b"user:" + KEY.encode()]), st.binary(max_size=2),
    st.integers(0, 3), st.integers(0, 1), _FILLER), min_size=1, max_size=4)


# The library's mask (100 bytes: 61 more than the key, what follows each copy masked is
# moved to another place in a group of four) and masks 0, 1 and 2 bytes past a group.
_MASKS = st.sampled_from([mask(KEY), MASKED, MASKED + "s", MASKED + "ss"])


@settings(max_examples=600, deadline=None)
@given(lead=_FILLER, pieces=_PIECES, urlsafe=st.booleans(), padded=st.booleans(),
       masked=_MASKS, url=st.booleans())
def test_no_decoding_of_a_glued_run_yields_the_key(
        lead: str, pieces: list[tuple[bytes, bytes, int, int, str]], urlsafe: bool,
        padded: bool, masked: str, url: bool) -> None:
    """Runs glued from the key's base64 at random alignments and offsets, random
    filler between, in a text or a URL's query: whatever start a reader decodes the
    written text from (percent-decoded), in either alphabet, it reads no copy of the
    key. Failed before (the first copy of two at different places in a group kept)."""
    run = lead + "".join(
        _spelled(before + data)[cut:len(_spelled(before + data)) - end] + filler
        for data, before, cut, end, filler in pieces)
    if padded:
        run += "=" * (-len(run) % 4)
    if urlsafe:
        run = run.translate(TO_URLSAFE)
    if url:
        written = unquote(key_base64.masked_base64_runs(
            f"http://api.example.com/v1?t={run}", KEY, masked, url=True))
    else:
        written = key_base64.masked_base64_runs(f"x {run} y", KEY, masked)
    assert not key_decoded_in(written, KEY), (run, written)
