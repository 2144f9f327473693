"""secrets23: ``key_base64_segments.masked_segments`` (a run of the key's base64 in a URL's
path, read by its segments) was quadratic in the segments holding the key's spelling, or
standing between the path's start and it: each window of segments tried was read again
whole, and every pair of ends around a spelling was sorted before the first was tried.
A path ``"/v1/" + ("AAA" + S[:-3] + "/") * n`` (S the key's base64) took 99 ms at 64 KiB
and 1.4 s at 256 KiB, ``"/v1/" + "a/" * n + S`` 147 ms and 2.0 s. A URL reaches it
(the request's, a redirect's, a Location or Link header's: an app's response headers
have no server's cap). The new one finds the spellings once and draws the pairs as they
are tried: the same calls in the same order, so the same output (the property below,
against the old function frozen here), and work growing with the input (counted, not
timed).
"""

from __future__ import annotations

import re
import sys
from base64 import b64encode, urlsafe_b64encode
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Optional, Sequence
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har import key_base64_segments
from readme_metrics.har.key_base64 import masked_base64_runs
from readme_metrics.har.key_base64_percent import masked_encoded_runs
from readme_metrics.har.key_base64_run import decoded_masked
from readme_metrics.har.key_base64_segments import masked_segments
from readme_metrics.har.key_base64_spellings import base64_spellings
from readme_metrics.har.percent import percent_decoded
from tests.test_house6_findings import KEY, LONG_KEY

MASKED = "sha512-m?sked"
_SPELLED = b64encode(KEY.encode()).decode("ascii")
_SEGMENTS_FILE = str(Path(key_base64_segments.__file__).resolve())


def _old_masked_segments(run: str, at: int, cuts: list[int], needles: Sequence[str],
                         written: Callable[[str, bool], Optional[str]], fallback: str,
                         decoded: Callable[[str], str] = str,
                         key: Optional[str] = None) -> list[tuple[int, int, str]]:
    """main's (7955bc6) masked_segments, frozen: the oracle (``key``, which lets the new
    one leave out windows that cannot decode, secrets24, unused: every window tried)."""
    bounds = []
    start = 0
    for cut in [*cuts, len(run)]:
        bounds.append((start, cut))
        start = cut + 1

    def holds(low: int, high: int) -> bool:
        text = decoded(run[bounds[low][0]:bounds[high][1]])
        for needle in needles:  # noqa: SIM110
            if needle in text:
                return True
        return False

    spans = []
    first, count = 0, len(bounds)
    while first < count:
        end = next((high for high in range(first, count) if holds(first, high)), None)
        if end is None:
            break
        begin = next(low for low in range(end, first - 1, -1) if holds(low, end))
        tried = sorted(((low, high) for low in range(first, begin + 1)
                        for high in range(end, count)),
                       key=lambda pair: (pair[1] - pair[0], -pair[0]))
        text = None
        for exact in (True, False):
            for low, high in tried:
                text = written(run[bounds[low][0]:bounds[high][1]], exact)
                if text is not None:
                    break
            if text is not None:
                break
        if text is None:
            low, high, text = begin, end, fallback
        spans.append((at + bounds[low][0], at + bounds[high][1], text))
        first = high + 1
    return spans


def _flat(found: str) -> str:
    """A percent-encoded run as key_base64_percent reads it: decoded, lines joined."""
    return "".join(re.split(r"\r?\n", percent_decoded(found)))


def _url_written(key: str) -> Callable[[str, bool], Optional[str]]:
    def written(segment: str, exact: bool) -> Optional[str]:
        text = decoded_masked(segment, key, MASKED, True, exact)
        return None if text is None else quote(text, safe="-_/")
    return written


def _encoded_written(key: str) -> Callable[[str, bool], Optional[str]]:
    def written(segment: str, exact: bool) -> Optional[str]:
        text = decoded_masked(_flat(segment), key, MASKED, False, exact)
        return None if text is None else quote(text, safe="-_")
    return written


def _piece(key: str, lead: bytes, tail: bytes, urlsafe: bool, cut: int, trim: int) -> str:
    """The key's base64 with bytes around it, cut at either end (a copy glued or broken
    by the path's "/")."""
    encoded = (urlsafe_b64encode if urlsafe else b64encode)(lead + key.encode() + tail)
    text = encoded.decode("ascii").rstrip("=")
    return text[cut:len(text) - trim]


# Keys whose spellings hold no "/", hold several, start and end with one (a spelling
# across the path's segments), and repeat every four characters (spellings overlapping).
_KEYS = st.sampled_from([KEY, LONG_KEY, "rdme_??>??>??>??>??>?", "?" * 19])
_PIECE = st.tuples(st.binary(max_size=3), st.binary(max_size=3), st.booleans(),
                   st.integers(0, 3), st.integers(0, 6))
_FILLER = st.text("AQgw/+_-abc019", max_size=9)
_PARTS = st.lists(st.one_of(_PIECE, _FILLER), min_size=1, max_size=9)


def _run(key: str, parts: list[Any]) -> str:
    return "".join(_piece(key, *part) if isinstance(part, tuple) else part for part in parts)


def _cuts(run: str) -> list[int]:
    return [at for at, character in enumerate(run) if character == "/"]


def _recording(log: list[tuple[str, bool]]) -> Callable[[str, bool], Optional[str]]:
    """A pure ``written`` that logs its calls and reads a window by a checksum of it."""
    def written(segment: str, exact: bool) -> Optional[str]:
        log.append((segment, exact))
        return f"<{len(segment)}>" if (sum(map(ord, segment)) + exact) % 5 == 0 else None
    return written


@settings(max_examples=400, deadline=None)
@given(key=_KEYS, parts=_PARTS, escaped=st.booleans(), at=st.integers(0, 9))
def test_segments_as_the_old_function(key: str, parts: list[Any], escaped: bool,
                                      at: int) -> None:
    run = _run(key, parts)
    needles = base64_spellings(key)
    cuts = _cuts(run)
    assert masked_segments(run, at, cuts, needles, _url_written(key), "M") == (
        _old_masked_segments(run, at, cuts, needles, _url_written(key), "M"))
    new_calls: list[tuple[str, bool]] = []
    old_calls: list[tuple[str, bool]] = []
    assert masked_segments(run, at, cuts, needles, _recording(new_calls), "M") == (
        _old_masked_segments(run, at, cuts, needles, _recording(old_calls), "M"))
    assert new_calls == old_calls
    # Percent-encoded (every other base64 character escaped, a line break or two).
    encoded = "".join(f"%{ord(character):02X}" if escaped and character != "/"
                      and index % 2 else character for index, character in enumerate(run))
    encoded = encoded.replace("Q", "%0D%0AQ", 2)
    cuts = _cuts(encoded)
    assert masked_segments(encoded, at, cuts, needles, _encoded_written(key), "M", _flat) == (
        _old_masked_segments(encoded, at, cuts, needles, _encoded_written(key), "M", _flat))


@settings(max_examples=200, deadline=None)
@given(key=_KEYS, parts=_PARTS, prefix=st.sampled_from(["/v1/", "https://h/a/", "/p/x"]),
       escaped=st.booleans())
def test_masked_urls_as_with_the_old_function(key: str, parts: list[Any], prefix: str,
                                              escaped: bool) -> None:
    """The public functions (the real ``written`` and ``decoded``) with either."""
    run = _run(key, parts)
    if escaped:  # the run's first half every character escaped, but its "/"s
        half = len(run) // 2
        run = "".join(f"%{ord(character):02X}" if character != "/" else character
                      for character in run[:half]) + run[half:]
    url = prefix + run + "?q=1"
    assert masked_with(masked_segments, url, key) == masked_with(_old_masked_segments, url, key)


def masked_with(function: Callable[..., Any], url: str, key: str) -> tuple[str, str]:
    """``url`` masked by the public functions (as written, percent-encoded), with
    ``function`` for masked_segments."""
    with pytest.MonkeyPatch.context() as patch:
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("readme_metrics.har.") and (
                    getattr(module, "masked_segments", None) is masked_segments):
                patch.setattr(module, "masked_segments", function)
        return (masked_base64_runs(url, key, MASKED, url=True),
                masked_encoded_runs(url, key, MASKED, True))


def _counted(call: Callable[[], object]) -> int:
    """Lines of key_base64_segments run by ``call`` (its generators and lambdas too)."""
    lines: Counter[str] = Counter()

    def trace(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != _SEGMENTS_FILE:
            return None
        if event == "line":
            lines["line"] += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(previous)
    return lines["line"]


def _work(path: str) -> int:
    """Lines run plus characters read and written by masked_segments for a URL path."""
    characters = Counter[str]()

    def decoded(text: str) -> str:
        characters["read"] += len(text)
        return text

    def written(segment: str, exact: bool) -> Optional[str]:
        characters["written"] += len(segment)
        return _url_written(KEY)(segment, exact)

    needles = base64_spellings(KEY)
    lines = _counted(lambda: masked_segments(path, 0, _cuts(path), needles, written, "M",
                                             decoded))
    return lines + characters["read"] + characters["written"]


def _glued(size: int) -> str:
    piece = "AAA" + _SPELLED[:-3] + "/"
    return "/v1/" + piece * (size // len(piece))


def _far(size: int) -> str:
    return "/v1/" + "a/" * (size // 2) + _SPELLED


@pytest.mark.parametrize("shape", [pytest.param(_glued, id="glued-copies"),
                                   pytest.param(_far, id="after-many-segments")])
def test_work_grows_linearly(shape: Callable[[int], str]) -> None:
    """4 times the path, at most 6 times the work (was 16 and more: quadratic)."""
    small, large = _work(shape(64 * 1024)), _work(shape(256 * 1024))
    assert large <= 6 * small, (small, large)


@pytest.mark.parametrize("shape", [pytest.param(_glued, id="glued-copies"),
                                   pytest.param(_far, id="after-many-segments")])
def test_a_mebibyte_path_is_masked(shape: Callable[[int], str]) -> None:
    """1 MiB: finishes, with work linear in it, and no spelling left."""
    url = "http://api.example.com" + shape(1024 * 1024)
    out: list[str] = []
    lines = _counted(lambda: out.append(masked_base64_runs(url, KEY, MASKED, url=True)))
    small = _counted(lambda: masked_base64_runs(
        "http://api.example.com" + shape(64 * 1024), KEY, MASKED, url=True))
    assert lines <= 6 * 16 * small, (small, lines)
    assert not any(needle in out[0] for needle in base64_spellings(KEY))
