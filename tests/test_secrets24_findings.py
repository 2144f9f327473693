"""secrets24: ``key_base64_segments.masked_segments`` tried every window of segments around
a spelling of the key's base64 in a URL's path, in both passes, each a decode of the
window, until one decoded: a path where none can (``"/v1/" + S[:-2] + "AAA/" + "AAA/" *
n``, S the key's base64: each wider window keeps a length one past a group of four) took
6,151 decodes and 0.17 s at 4 KiB, 24,583 and 2.0 s at 16 KiB; with segments before the
spelling too (``"/v1/" + "a/" * n + ...``) the windows are as many as the pairs of
segments. Now the windows that cannot decode to the key's bytes
(:class:`~readme_metrics.har.key_base64_windows.DecodableWindows`: their length from the
start of the key's group, their last character's bits read exactly) are not tried: the
same output (the properties below, against secrets23's frozen oracle, which tries them
all), and work growing with the input (counted, not timed).
"""

from __future__ import annotations

import sys
from base64 import b64encode, urlsafe_b64encode
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har import key_base64_segments, key_base64_windows
from readme_metrics.har.key_base64 import masked_base64_runs
from readme_metrics.har.key_base64_percent import masked_encoded_runs
from readme_metrics.har.key_base64_segments import masked_segments
from readme_metrics.har.key_base64_spellings import base64_spellings
from readme_metrics.har.key_base64_windows import key_groups
from tests.test_house6_findings import KEY, LONG_KEY
from tests.test_secrets23_findings import (
    MASKED,
    _cuts,
    _encoded_written,
    _flat,
    _old_masked_segments,
    _piece,
    _url_written,
    masked_with,
)

_FILES = {str(Path(module.__file__).resolve())  # type: ignore[arg-type]
          for module in (key_base64_segments, key_base64_windows)}
# Keys whose base64 holds no "/" or "+", a "/" (standard) or "_" (URL-safe) first and
# last, several, a spelling repeating every four characters, and one ending in a
# character holding 2 or 4 bits of it.
_KEY_LIST = [KEY, LONG_KEY, "rdme_??>??>??>??>??>?", "?" * 19, "?rdme_xn8s9h3a7b2c1d0e5?",
             "rdme_~~~~~~~~~~~~~~~~~~~~", "rdme_xn8s9h3a7b2c1d0e5f4gh"]
_KEYS = st.sampled_from(_KEY_LIST)
# A copy of the key's base64 with bytes around it, cut at either end, in either alphabet.
_PIECE = st.tuples(st.binary(max_size=3), st.binary(max_size=3), st.booleans(),
                   st.integers(0, 3), st.integers(0, 6))
# What stands between copies: filler that cannot decode, lengths one past a group, padding.
_FILLER = st.one_of(st.text("AQgw/+_-abc019", max_size=9),
                    st.sampled_from(["AAA/", "A/", "AA/", "/", "AAAA/", "/a/", "A=", "=="]))
_PARTS = st.lists(st.one_of(_PIECE, _FILLER, st.tuples(_FILLER, st.integers(1, 12))),
                  min_size=1, max_size=9)


def _run(key: str, parts: list[Any]) -> str:
    out = []
    for part in parts:
        if isinstance(part, tuple) and len(part) == 2:  # (filler repeated)
            out.append(part[0] * part[1])
        elif isinstance(part, tuple):
            out.append(_piece(key, *part))
        else:
            out.append(part)
    text = "".join(out)
    # Padding stands at a run's end alone (a run as the text's search finds it).
    return text.replace("=", "") + "=" * text.count("=") if "=" in text[:-2] else text


def _calls(function: Callable[..., Any], run: str, cuts: list[int], needles: tuple[str, ...],
           written: Callable[[str, bool], Optional[str]],
           decoded: Callable[[str], str] = str, **keyed: Any) -> tuple[Any, list[Any]]:
    log: list[tuple[str, bool]] = []

    def logged(segment: str, exact: bool) -> Optional[str]:
        log.append((segment, exact))
        return written(segment, exact)

    spans = function(run, 0, cuts, needles, logged, "M", decoded, **keyed)
    return spans, log


def _same_output_fewer_calls(run: str, key: str, written: Callable[[str, bool], Optional[str]],
                             decoded: Callable[[str], str] = str) -> None:
    """The new function with the key: the old one's spans, its calls of the writer some
    of the old one's in the same order, and each left out one that reads nothing."""
    cuts = _cuts(run)
    needles = base64_spellings(key)
    new, new_calls = _calls(masked_segments, run, cuts, needles, written, decoded, key=key)
    old, old_calls = _calls(_old_masked_segments, run, cuts, needles, written, decoded)
    assert new == old
    made = iter(old_calls)
    for call in new_calls:
        assert call in made  # (a subsequence: consumes the iterator up to it)
    for segment, exact in set(old_calls) - set(new_calls):
        assert written(segment, exact) is None, (segment, exact)


@settings(max_examples=500, deadline=None)
@given(key=_KEYS, parts=_PARTS, escaped=st.booleans())
def test_windows_left_out_read_nothing(key: str, parts: list[Any], escaped: bool) -> None:
    run = _run(key, parts)
    _same_output_fewer_calls(run, key, _url_written(key))
    # Percent-encoded (every other base64 character escaped, a line break or two).
    encoded = "".join(f"%{ord(character):02X}" if escaped and character not in "/="
                      and index % 2 else character for index, character in enumerate(run))
    encoded = encoded.replace("Q", "%0D%0AQ", 2)
    _same_output_fewer_calls(encoded, key, _encoded_written(key), _flat)


def _cut_length(key: str, size: int) -> str:
    """The key's base64 cut by two, "AAA", then "AAA/" repeated: each window from the
    key's group holds a length one past a group of four (the lead's case)."""
    spelled = b64encode(key.encode()).decode("ascii")
    return "/v1/" + spelled[:-2] + "AAA/" + "AAA/" * (size // 4)


def _cut_length_far(key: str, size: int) -> str:
    """The same with as many segments before it: every pair of ends a window."""
    spelled = b64encode(key.encode()).decode("ascii")
    return "/v1/" + "a/" * (size // 4) + spelled[:-2] + "AAA/" + "AAA/" * (size // 8)


def _not_the_key(key: str, size: int) -> str:
    """A spelling at its second place in a group whose first character's bits are not
    the key's (the spelling found, the key's bytes never decoded), then "AAAA/"s."""
    encoded = b64encode(b"\0" + key.encode()).decode("ascii").rstrip("=")
    wrong = "/" + encoded[:1] + ("B" if encoded[1] != "B" else "C") + encoded[2:]
    return "/v1" + wrong + "/" + "AAAA/" * (size // 5)


def _cut_length_urlsafe(key: str, size: int) -> str:
    spelled = urlsafe_b64encode(key.encode()).decode("ascii")
    return "/v1/" + spelled[:-2] + "_-_/" + "-_-/" * (size // 4)


def _cut_length_percent(key: str, size: int) -> str:
    """The first, each character of the spelling and one of each "AAA" escaped."""
    spelled = b64encode(key.encode()).decode("ascii")[:-2]
    return "/v1/" + "".join(f"%{ord(character):02X}" for character in spelled) + (
        "AAA/" + "A%41A/" * (size // 6))


_SHAPES = [pytest.param(_cut_length, id="cut-length"),
           pytest.param(_cut_length_far, id="cut-length-after-segments"),
           pytest.param(_not_the_key, id="spelling-not-the-key"),
           pytest.param(_cut_length_urlsafe, id="cut-length-urlsafe"),
           pytest.param(_cut_length_percent, id="cut-length-percent-encoded")]


@pytest.mark.parametrize("key", [KEY, "?" * 19], ids=["key", "base64-with-slashes"])
@pytest.mark.parametrize("shape", _SHAPES)
def test_each_shape_as_the_old_function(shape: Callable[[str, int], str], key: str) -> None:
    """Small enough for the old function: the same URL out, by either public function."""
    url = "http://api.example.com" + shape(key, 600) + "?q=1"
    new = masked_with(masked_segments, url, key)
    assert new == masked_with(_old_masked_segments, url, key)
    assert new != (url, url)


def _work(url: str, key: str) -> int:
    """Lines of key_base64_segments and key_base64_windows run (sys.settrace) plus the
    characters handed to decoded_masked, masking ``url`` both ways (as written and
    percent-encoded)."""
    counted: Counter[str] = Counter()

    def trace(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename not in _FILES:
            return None
        if event == "line":
            counted["lines"] += 1
        return trace

    from readme_metrics.har import key_base64_run
    decode = key_base64_run._decoded_from_a_start

    def counting(body: str, *args: Any, **keywords: Any) -> Optional[str]:
        counted["characters"] += len(body)
        return decode(body, *args, **keywords)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(key_base64_run, "_decoded_from_a_start", counting)
        previous = sys.gettrace()
        sys.settrace(trace)
        try:
            masked_base64_runs(url, key, MASKED, url=True)
            masked_encoded_runs(url, key, MASKED, True)
        finally:
            sys.settrace(previous)
    return counted["lines"] + counted["characters"]


@pytest.mark.parametrize("shape", _SHAPES)
def test_work_grows_linearly(shape: Callable[[str, int], str]) -> None:
    """4 times the path, at most 6 times the work (main: 16 times and more)."""
    small = _work("http://api.example.com" + shape(KEY, 16 * 1024), KEY)
    large = _work("http://api.example.com" + shape(KEY, 64 * 1024), KEY)
    assert large <= 6 * small, (small, large)


@pytest.mark.parametrize("shape", _SHAPES)
def test_a_mebibyte_path_is_masked(shape: Callable[[str, int], str]) -> None:
    """1 MiB of each shape finishes, no spelling of the key left in it."""
    url = "http://api.example.com" + shape(KEY, 1024 * 1024)
    out = masked_encoded_runs(masked_base64_runs(url, KEY, MASKED, url=True), KEY, MASKED, True)
    assert len(out) > 1024 * 1024
    assert not any(needle in out for needle in base64_spellings(KEY))


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@pytest.mark.parametrize("key", _KEY_LIST)
@pytest.mark.parametrize("urlsafe", [False, True])
def test_key_groups_finds_each_copy(key: str, urlsafe: bool) -> None:
    """Each place in a group the key's bytes start at, either alphabet; and a spelling
    whose first character holding some of the key's bits holds others is none."""
    encode = urlsafe_b64encode if urlsafe else b64encode
    for lead in range(3):
        text = encode(b"\1" * lead + key.encode() + b"\2").decode("ascii")
        assert key_groups("AAAA" + text, key)[:1] == [(4, 4 + -(-8 * (lead + len(key)) // 6))]
        if lead:
            first = 8 * lead // 6  # (its lowest bit is the key's)
            standard = text.replace("-", "+").replace("_", "/")
            changed = _ALPHABET[_ALPHABET.index(standard[first]) ^ 1]
            assert key_groups(standard[:first] + changed + standard[first + 1:], key) == []
