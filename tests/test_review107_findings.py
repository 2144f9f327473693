"""review107: secrets24's :func:`~readme_metrics.har.key_base64_windows.key_groups` found the
key's groups of four by the characters holding only its bits, at each of the three places
in a group; a key of one byte starting second in its group has none (its 8 bits are the
last 4 of the group's second character and the first 4 of its third), so no such group was
found, :class:`~readme_metrics.har.key_base64_windows.DecodableWindows` left out every
window holding one, and a URL's path carrying it (``"/v1/AGs="``: base64 of ``b"\\0k"``)
went out as written where main before secrets24 masked it. Unreachable from the log
build (its base64 masking is for keys of MIN_SUBSTRING_KEY characters or more), but the
public functions' differential against the frozen oracle (every window tried) failed.
Found by a hypothesis search of old vs new; 6,000 examples over keys of 2 bytes or more
(every length mod 3, non-ASCII, base64 holding "/", "+", "-", "_"), percent-encoded
(upper and lower case escapes, "%2F", "%3D"), "/", "//", "=" inside, found no other.
"""

from __future__ import annotations

from base64 import b64encode, urlsafe_b64encode

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.key_base64_segments import masked_segments
from readme_metrics.har.key_base64_windows import key_groups
from tests.test_secrets23_findings import _old_masked_segments, masked_with


def test_a_one_byte_key_second_in_its_group_is_found() -> None:
    assert key_groups("AGs=", "k") == [(0, 3)]


def test_a_one_byte_key_second_in_its_group_is_masked_in_a_path() -> None:
    new = masked_with(masked_segments, "/v1/AGs=", "k")
    assert new == masked_with(_old_masked_segments, "/v1/AGs=", "k")
    assert "AGs" not in new[0]


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(["k", "?", "\x7f", "ab", "\u00e9", "xyz", "\u20ac"]),
       lead=st.binary(max_size=3), tail=st.binary(max_size=3), urlsafe=st.booleans(),
       filler=st.sampled_from(["", "A/", "AAA/", "//", "x/"]),
       prefix=st.sampled_from(["/v1/", "https://h/a/", "/p/x"]))
def test_short_keys_as_with_the_old_function(key: str, lead: bytes, tail: bytes, urlsafe: bool,
                                             filler: str, prefix: str) -> None:
    encoded = (urlsafe_b64encode if urlsafe else b64encode)(lead + key.encode() + tail)
    url = prefix + filler + encoded.decode("ascii") + "/" + filler + "?q=1"
    assert masked_with(masked_segments, url, key) == (
        masked_with(_old_masked_segments, url, key))
