"""secrets22's finding (SPEC 6: the caller's key never leaves the process in clear): a URL
path holding a run glued from the key's base64, percent-encoded (every character escaped,
once or twice), whose first copy's group of four starts on the path's "/" or the
character before it (``/v1/%41%42%79%5A...``: ``base64(b"\\0\\0" + key)[1:]`` then
``base64(key)``). house6's finding 4 as written, through the percent-encoded search,
which lacked house6's check of what a reader of the URL decodes with the characters
before a run (``key_base64_run.unglued``): the first copy went out in clear. Each test
failed on main at 9c6a783; the oracle is house6's (tests.support.base64_reader).
"""

from __future__ import annotations

from base64 import b64encode
from typing import Any, Callable
from urllib.parse import quote, unquote

import pytest

from readme_metrics.har import build_log
from tests.test_house6_findings import KEY, _exchange, _leaked

_SPELLED = b64encode(KEY.encode()).decode("ascii").rstrip("=")
# The first copy's group of four starts one character before the run: on the "/".
_AFTER_SLASH = b64encode(b"\0" + KEY.encode()).decode("ascii")[1:].rstrip("=") + _SPELLED
# Two characters before it: on the "1" of "v1/".
_AFTER_ONE_AND_SLASH = (b64encode(b"\0\0" + KEY.encode()).decode("ascii")[2:].rstrip("=")
                        + _SPELLED)
# The brief's: the group starts on the "/" (the "A" before it a whole character's bits).
_BRIEF = b64encode(b"\0\0" + KEY.encode()).decode("ascii")[1:].rstrip("=") + _SPELLED


def _every(text: str, lower: bool = False) -> str:
    return "".join((f"%{ord(character):02x}" if lower else f"%{ord(character):02X}")
                   for character in text)


def _url(log: dict[str, Any]) -> str:
    return str(log["request"]["log"]["entries"][0]["request"]["url"])


_RUNS = [pytest.param(_BRIEF, id="brief"), pytest.param(_AFTER_SLASH, id="after-slash"),
         pytest.param(_AFTER_ONE_AND_SLASH, id="after-one-and-slash")]


@pytest.mark.parametrize("run", _RUNS)
@pytest.mark.parametrize("encoded", [
    pytest.param(_every, id="every-once"),
    pytest.param(lambda run: _every(run, lower=True), id="every-once-lower"),
    pytest.param(lambda run: quote(_every(run), safe=""), id="every-twice"),
    pytest.param(lambda run: quote(quote(run, safe=""), safe=""), id="urlencoded-twice"),
])
def test_a_percent_encoded_run_glued_to_the_paths_slash_is_masked(
        run: str, encoded: Callable[[str], str]) -> None:
    """Failed before (every-once, every-once-lower, every-twice): the run's first copy,
    read with the "/" (or "1/") before it, was in the log's URL."""
    url = "http://api.example.com/v1/" + encoded(run)
    log = build_log(_exchange(url=url), max_body_bytes=1000)
    assert not _leaked(log, KEY)
    # The endpoint is kept: what was masked is the run, its segment as written before it.
    assert _url(log).startswith("http://api.example.com/v1/")


@pytest.mark.parametrize("twice", [False, True])
def test_a_percent_encoded_run_after_the_key_in_the_query_is_kept(twice: bool) -> None:
    """The check reads only what a run is glued to: a path segment of other base64
    characters percent-encoded, with no key in it, is kept as written; a path masked
    keeps its query."""
    other = _every("QUJDREVGR0g")
    if twice:
        other = quote(other, safe="")
    url = f"http://api.example.com/v1/{other}?q=1"
    log = build_log(_exchange(url=url), max_body_bytes=1000)
    assert _url(log) == url


def test_the_run_becomes_the_mask_percent_encoded_as_it_was() -> None:
    """What replaces the run is the mask, escaped as the run was (twice: "%25")."""
    url = "http://api.example.com/v1/" + quote(_every(_BRIEF), safe="")
    log = build_log(_exchange(url=url), max_body_bytes=1000)
    written = _url(log)[len("http://api.example.com/v1/"):]
    assert "%25" in written or "%" not in written
    assert unquote(unquote(written)) != _BRIEF


# Found by house6's property extended (a run glued to a path segment's start): a copy whose
# last group ends on the path's "/" ("...NWY0Z/AA": the key's last bits in the "/").
_ENDING_ON_SLASH = ("cmRtZV94bjhzOWgzYTdiMmMxZDBlNWY0Zw==AAB1c2VyOnJkbWVfeG44czloM2E3YjJj"
                    "MWQwZTVmNGcAAAAcmRtZV94bjhzOWgzYTdiMmMxZDBlNWY0Z/AA")


@pytest.mark.parametrize("path", [
    pytest.param(_ENDING_ON_SLASH, id="glued"),
    pytest.param("AAA" + _SPELLED[:-1] + "/AA", id="alone"),
    pytest.param(_every("AAA" + _SPELLED[:-1]) + "/AA", id="alone-every-once"),
])
def test_a_copy_whose_last_group_ends_on_the_paths_slash_is_masked(path: str) -> None:
    """Failed before (glued): the third copy, its last character's bits in the "/" that
    follows it, was in the log's URL (the run was read segment by segment)."""
    url = "http://api.example.com/v1/" + path
    log = build_log(_exchange(url=url), max_body_bytes=1000)
    assert not _leaked(log, KEY)
    assert _url(log).startswith("http://api.example.com/v1/")
