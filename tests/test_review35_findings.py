"""review35's items (an adversarial read of last session's redaction changes for forms and
multipart bodies in UTF-16/32 or with a byte order mark, found with hypothesis-drawn
documents and encodings): each test failed on main at dc6a179 and passes with its fix,
through the public middleware and the collector on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from werkzeug.wrappers import Request

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.leaks import found_spelled

SECRET = "review35-denied-secret"
HIDDEN = f"[REDACTED {len(SECRET)}]"
FORM = "application/x-www-form-urlencoded"


def _form_app(seen: dict[str, Any]) -> Callable[..., list[bytes]]:
    """Reads the body as Flask's ``request.form`` does, or an upload as
    ``json.load(request.files["f"])`` does."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        request = Request(environ)
        if request.mimetype == "multipart/form-data" and "f" in request.files:
            seen["file"] = json.load(request.files["f"])
        else:
            seen["form"] = list(request.form.items(multi=True))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return app


def _logged(collector: Collector, wrap: Callable[..., MetricsMiddleware], body: bytes,
            content_type: str, seen: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """(where the posted batch still spells SECRET, the logged postData)."""
    before = len(collector.received)
    _, _, entry = exchange(wrap(_form_app(seen), denylist=["password"]), collector,
                           method="POST", body=body, headers={"Content-Type": content_type})
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    return found_spelled(bodies, SECRET), entry["request"]["postData"]


# -- 1. A form in UTF-16/32 read by its bytes, not only by its declared charset ----------

FIELDS = f"a=1&password={SECRET}"
# (body, declared charset): a form whose bytes are UTF-16/32 (a mark, or where its NULs
# are) was read as UTF-8 (no charset: NUL-spaced names, "password" unmatched, its value
# NUL-spaced in clear) or in a declared charset of the wrong width or byte order
# (UTF-16-BE read little-endian: U+7000 for "p", the value byte-swapped in the log).
WIDE_FORMS = {
    "utf-16-be-no-mark-declared-utf-16": (FIELDS.encode("utf-16-be"), "utf-16"),
    "utf-32-be-no-mark-declared-utf-32": (FIELDS.encode("utf-32-be"), "utf-32"),
    "utf-16-be-declared-utf-16le": (FIELDS.encode("utf-16-be"), "utf-16le"),
    "utf-32-le-declared-utf-16": (FIELDS.encode("utf-32-le"), "utf-16"),
    "utf-16-le-no-charset": (FIELDS.encode("utf-16-le"), None),
    "utf-16-with-a-mark-no-charset": (FIELDS.encode("utf-16"), None),
    "utf-32-le-declared-utf-8": (FIELDS.encode("utf-32-le"), "utf-8"),
}


@pytest.mark.parametrize("case", list(WIDE_FORMS))
def test_a_form_in_utf16_or_utf32_is_read_by_its_mark_or_nul_pattern(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    body, charset = WIDE_FORMS[case]
    content_type = FORM + (f"; charset={charset}" if charset else "")
    hits, post = _logged(collector, inline_wrap, body, content_type, {})
    assert hits == []
    assert post["params"] == [{"name": "a", "value": "1"},
                              {"name": "password", "value": HIDDEN}]
