"""A per-log gate proving the caller's key absent from an entry, so that
:func:`~readme_metrics.har.scrub.scrub_entry` (the url, the query, the bodies, the key's
base64 in every value) can be skipped: most logs hold no spelling of the key, and the
scrub asked each string of them (about 49k instructions of a small GET's 270k, cpu15).

The gate is a necessary condition, over every string the scrub reads, for any masking
to change one: the entry's url, redirect, method, reason, header and cookie values, form
fields, mimeTypes and bodies are joined (with NUL, which no needle holds: a string
holding a needle leaves it in the join) and none of :func:`gate_needles` may be in it.
Each spelling the scrub masks needs one:

* as written (url, query, a value, a JSON or text body): the key itself;
* percent-encoded (any character, either case, once or twice; base64 as %2B, %2F, %3D,
  %0D%0A): "%";
* JSON-escaped ("\\/", "\\u0041", the escapes of wrapped base64): a backslash;
* form-encoded, a space as "+": "+" (a key with a space only; one without cannot appear
  where a "+" is read as a space);
* base64 of its UTF-8 bytes, at each of three alignments and in both alphabets, as
  written: :func:`~readme_metrics.har.key_base64_spellings.base64_spellings`; wrapped
  across lines: a line break (LF, or a JSON escape: a backslash).

Two kinds of strings the scrub reads are left out of the join, as they cannot change
there unless one of the joined ones holds a needle:

* the query's names and values: the url's query split at "&" and "=" (build_entry reads
  them from the url as it is in the entry); a decoded one needs a "%" in the url, or a
  "+" read as a space (a needle for a key with a space; a key without one is in no
  spaced piece that is not in the url too, nor is its base64, which has no space);
* the cookies' values, for a key of 23 characters or more (:func:`reads_cookies`): each
  is a mask (``"sha512-" + base64(sha512(value)) + "?" + its last 4``) or the redaction
  mark, and the scrub reads them for the key's base64 alone (the key itself and its
  other spellings were masked while the cookies were built). No run of base64 reaches
  past the mask's "?", the 4 characters after it are too few for a spelling, and the
  redaction mark has no run long enough; so a spelling in a mask stands in its
  "sha512-" and SHA-512 output. It cannot be ruled out there, only bounded: with the
  shortest spelling 29 characters or more, at least 22 of them (132 bits) are the
  digest's, a chance under 2^-120 a mask and a partial preimage no client can compute.
  A shorter key's base64 (10 characters for 8: 60 bits) is looked for in them as the
  scrub does.

The build leaves the key's tests of the header values sent as they come to the gate
(``headers(gated=True)``: one search of each value, not two), and makes them when the
gate says no (``build._keyed_headers``, only where a value may hold the key: without
lists on the values as built, ``headers.keyed_values``; with lists the headers built
again).

What the gate does not reason about is left to the scrub whole (the gate says no): a
key that is short (masked only whole, its host and path segments), a JSON number (its
value written otherwise), not printable ASCII or holding a quote or a backslash (its
aliases, its JSON spellings); an entry with a comment (a body cut mid-key, an
unrecordable one, a status quoted), a base64 or compressed body (its bytes, UTF-16/32
too), a form's file part or a field that is not a string, a response read as a form, a
body of :data:`GATED_BODY` characters or more (a scan per needle would cost more than
the scrub's probes).
"""

from __future__ import annotations

from itertools import chain
from operator import itemgetter
from typing import Any, Optional

from readme_metrics.har.key_base64_spellings import base64_spellings, shortest_spelling
from readme_metrics.har.key_forms import MIN_SUBSTRING_KEY, KeyForms

__all__ = ["GATED_BODY", "MASK_DIGEST_SPELLED", "gate_needles", "keyless", "reads_cookies"]

#: Bodies this long or longer send the entry to the scrub (its probes scan them once).
GATED_BODY = 2048
#: How many characters of a mask's digest (6 bits each) a spelling of the key there
#: must match at the least, past the mask's "sha512-", for the gate to leave the
#: cookies' values (masks) unread (see the module): 22, 132 bits.
MASK_DIGEST_SPELLED = 22

_VALUE = itemgetter("value")
_NAME = itemgetter("name")


def gate_needles(forms: KeyForms, aliased: bool) -> Optional[tuple[str, ...]]:
    """The texts of which an entry holding any spelling of the key the scrub masks holds
    one, worked out once per key (the one table of spellings: a spelling the scrub learns
    needs its mark here); None for a key the gate does not decide (see the module).
    ``aliased``: the key has other spellings (:class:`CallerKey`'s aliases)."""
    key = forms.key
    if (len(key) < MIN_SUBSTRING_KEY or not forms.inside or forms.numeric or aliased
            or not forms.plain or forms.lone):
        return None
    marks = ["%", "\\", "\n"]
    if " " in key:
        marks.append("+")
    # (The key first: a log holding it is found at once.)
    return tuple(dict.fromkeys((key, *marks, *base64_spellings(key))))


def reads_cookies(forms: KeyForms) -> bool:
    """Whether :func:`keyless` reads the cookies' values (masks) for the key of ``forms``:
    its base64 spellings are short enough that a mask may hold one by chance (see the
    module). Worked out once per key, as :func:`gate_needles` are."""
    return shortest_spelling(forms.key) < len("sha512-") + MASK_DIGEST_SPELLED


def keyless(entry: dict[str, Any], needles: tuple[str, ...],
            response_type: Optional[str], cookies: bool = True) -> bool:
    """Whether no string of ``entry`` :func:`~readme_metrics.har.scrub.scrub_entry` reads
    can hold a spelling of the key whose :func:`gate_needles` are ``needles``: then the
    scrub would leave the entry as it is. False when the gate cannot tell.
    ``response_type``: the response's Content-Type as sent (scrub_entry's).
    ``cookies``: read the cookies' values too (:func:`reads_cookies`)."""
    request, response = entry["request"], entry["response"]
    content = response["content"]
    if "comment" in response or "comment" in content or "encoding" in content:
        return False
    text = content.get("text", "")
    kind = response_type or content.get("mimeType")
    if kind.__class__ is str and "urlencoded" in kind.lower():
        return False
    post = request.get("postData")
    params: Any = ()
    post_text = ""
    if post is not None:
        if "comment" in post or "encoding" in post:
            return False
        params = post.get("params", ())
        post_text = post.get("text", "")
    try:
        if len(text) >= GATED_BODY or len(post_text) >= GATED_BODY:
            return False
        # (Not the query's pairs, nor the cookies' values for most keys: see the module.)
        joined = "\0".join([
            request["url"], response["redirectURL"], request["method"],
            response["statusText"], text, post_text,
            *map(_VALUE, chain(request["headers"], response["headers"], params,
                               request["cookies"], response["cookies"])
                 if cookies else chain(request["headers"], response["headers"], params)),
            *map(_NAME, params),
            content.get("mimeType") or "", post.get("mimeType") or "" if post else ""])
    except (KeyError, TypeError):  # a file part (no value), a value that is no string
        return False
    for record in params:
        if len(record) != 2:  # a file part: its data URL's base64 and fileName
            return False
    for needle in needles:  # noqa: SIM110 (a loop: no generator object per log)
        if needle in joined:
            return False
    return True
