"""A reader of base64 that tries everything: every run of base64 characters in a text
(either alphabet), decoded from each of its characters, what base64 can hold of the rest
(its last character dropped when it is one past a group of four). A test's oracle, for
small texts: each start is decoded (quadratic)."""

from __future__ import annotations

import re
from base64 import b64decode

_RUN = re.compile(r"[A-Za-z0-9+/\-_]+")


def key_decoded_in(text: str, key: str) -> bool:
    """Whether some decoding of some run of base64 in ``text``, at some start, yields
    the ``key``'s UTF-8 bytes."""
    spelled = key.encode("utf-8")
    for run in _RUN.finditer(text):
        standard = run.group(0).replace("-", "+").replace("_", "/")
        for start in range(len(standard)):
            data_text = standard[start:]
            if len(data_text) % 4 == 1:
                data_text = data_text[:-1]
            if len(data_text) * 6 < len(spelled) * 8:
                break
            data = b64decode(data_text + "=" * (-len(data_text) % 4), validate=True)
            if spelled in data:
                return True
    return False
