"""keyleak3's findings (SPEC 6: the caller's key never leaves the process in clear): the
key's base64 in a text or JSON body with every character percent-encoded, once or twice
(review125's fuzzer, house6's glued runs over other keys: 139 leaks in 20,000 on
58b25a5b), and keyleak2's finding 4 (urlencoded, then every character escaped again:
its tests, in tests/test_keyleak2_findings.py, no longer a strict xfail).

1. A key whose base64 spellings share no character ('t64c5vspbn2o'): the escape every
   spelling needs was only a line break's, so a run with every character escaped and no
   line break was never looked for.
2. A long text (a probe's scan) holding the probe character as an escape's digit ("1"
   of "%31", or a word's "Z") and lacking another ("U", written "%55"): taken for one
   with no spelling.
3. A run every character escaped twice ("W" as "%25%35%37"): no reading took the
   escapes of an escape's digits.
The guard: a run every character escaped once glued to "%25%33%44" (keyleak2's
regression: a run read a level deeper) stays masked.
"""

from __future__ import annotations

import json
from base64 import b64encode
from urllib.parse import unquote

import pytest

from readme_metrics.har import build_log
from tests.test_house6_findings import KEY, _every_character_escaped, _exchange, _leaked

SHARING_NONE = "t64c5vspbn2o"  # its three spellings share no character
PROBE_DIGIT = "PJSt*9m89xpGkWo]O#_#.uqjvpX"  # its probe "1", rarer ones letters
# house6's glued run (three pieces, two cut) of PROBE_DIGIT's base64, then " y".
_GLUED = ("RNQSlN0KjltODl4cEdrV29dTyNfIy51cWp2cFj8vIMhIKeUEpTdCo5bTg5eHBHa1dvXU8jXyMudXFq"
          "dnBTD4q0rEUEpTdCo5bTg5eHBHa1dvXU8jXyMudXFqdnBYGzigNWb y")


def _sent(key: str, text: str, place: str) -> dict:  # type: ignore[type-arg]
    body = json.dumps({"a": text}) if place == "json" else text
    content_type = "application/json" if place == "json" else "text/plain"
    return build_log(_exchange(key, body=body.encode(), content_type=content_type),
                     max_body_bytes=1 << 20)


_MINIMAL = b64encode(b"X\xa4" + SHARING_NONE.encode() + b"P").decode()


@pytest.mark.parametrize("place", ["text", "json"])
@pytest.mark.parametrize(("key", "text"), [
    pytest.param(SHARING_NONE, _every_character_escaped(_MINIMAL), id="1-sharing-none"),
    pytest.param(SHARING_NONE, _every_character_escaped(_MINIMAL).lower(),
                 id="1-sharing-none-lower"),
    pytest.param(SHARING_NONE, _every_character_escaped(_every_character_escaped(_MINIMAL)),
                 id="1-3-sharing-none-twice"),
    pytest.param(PROBE_DIGIT, _every_character_escaped(_every_character_escaped(_GLUED)),
                 id="2-3-probe-digit-twice"),
    # 2: the probe ("Z") written elsewhere in a long body, the spelling every character
    # escaped after it.
    pytest.param(KEY, "lorem ipsum " * 300 + "Z " + _every_character_escaped(
        b64encode(b"user:" + KEY.encode()).decode()), id="2-probe-elsewhere"),
])
def test_a_run_with_every_character_escaped_is_masked(key: str, text: str, place: str) -> None:
    """Failed before: the log held the body as sent."""
    assert not _leaked(_sent(key, text, place), key), text[:80]


@pytest.mark.parametrize("place", ["text", "json"])
def test_a_run_escaped_once_glued_to_a_twice_escaped_padding_is_masked(place: str) -> None:
    """Guard (masked before too): the once-escaped run is masked at its own level; what
    is written again reads, decoded once, as the mask's base64, not a level deeper."""
    run = b64encode(b"X\xa4" + KEY.encode() + b"P").decode()
    text = (_every_character_escaped(run) + "%25%33%44" + _every_character_escaped(_MINIMAL[:5]))
    log = _sent(KEY, text, place)
    assert not _leaked(log, KEY)
    written = json.dumps(log)
    start = written.index("%")
    body = written[start:written.index('"', start)].rstrip("\\")
    assert body.endswith("%25%33%44" + _every_character_escaped(_MINIMAL[:5]))
    assert "%25" not in unquote(body).replace("%3D", "")
