"""hostile58's deeper reading as it was at 95ed93e6 (readme_metrics/har/userinfo_deeper.py
and text_userinfo._deeper): every window found by one scan decoded and read, no window
passed over, no cap. The oracle of tests/test_hostile60_findings' differential: the
reading now passes over windows that hold nothing to hide and must hide what this hid."""

from __future__ import annotations

import re
from typing import Callable, Iterator, Optional
from urllib.parse import quote

from readme_metrics.har import text_userinfo
from readme_metrics.har.userinfo_deeper import (
    _AT,
    _END,
    _LOOK,
    _SEPARATOR,
    _decoded,
    _scheme_start,
)

#: 95ed93e6's one scan (the library's until hostile60, which finds windows with FOUND): a
#: separator (group 1), then (group 2) its ``@`` ahead before an end or another separator.
SCAN = re.compile("(" + _SEPARATOR + ")(?=" + _LOOK + "(" + _AT + "))")


def _deeper(separator: str, at: str) -> bool:
    return "%25" in separator or "u00" in separator or at in ("%2540", "%5Cu0040", "%5cu0040")


def _windows(text: str) -> Iterator[tuple[int, str, Callable[[int], int]]]:
    found = [one for one in SCAN.finditer(text) if _deeper(one[1], one[2])]
    reverse = [""]
    kept = 0
    for number, separator in enumerate(found):
        start = _scheme_start(text, reverse, separator.start(), kept)
        if start < 0:
            continue
        bound = found[number + 1].start() if number + 1 < len(found) else len(text)
        stop = _END.search(text, separator.end(), bound)
        window, to_text = _decoded(text, start, bound if stop is None else stop.start())
        yield start, window, to_text
        kept = separator.end()


def deeper_hidden(text: str) -> str:
    """``text`` with each password one encoding deeper hidden as 95ed93e6 hid it."""
    out: list[str] = []
    kept = read = 0
    for start, window, to_text in _windows(text):
        if start < read:
            continue
        found: Optional[re.Match[str]] = (
            text_userinfo._ESCAPED.match(window) if "\\u" in window else None)
        escaped = found is not None
        found = found or text_userinfo._ENCODED.match(window)
        if found is None:
            continue
        read = to_text(found.end())
        for group, shown in zip((1, 2), text_userinfo._shown(found, not escaped, escaped)):
            if shown is not None:
                out += text[kept:to_text(found.start(group))], quote(shown, safe="")
                kept = to_text(found.end(group))
    if not out:
        return text
    out.append(text[kept:])
    return "".join(out)
