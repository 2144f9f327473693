"""review63: leaks left by redact13 (tests/test_redaction_pairs.py), each through the WSGI
middleware to the collector on 127.0.0.1; every case spelled the secret in the posted
batch on main at 49a6f37.

* A value percent-encoded one level more than redact13 read: a form or query value
  encoded three times (``next=%25253Fpassword%25253D...``: the app decodes it twice
  more) and a JSON string or multipart value encoded twice (``{"next": "a%253D1%2526
  password%253D..."}``, the JSON analogue of redact13's form case) were neither read nor
  hidden whole (SPEC 6: a level past MAX_INNER_DEPTH that could hold a denied key is
  hidden whole).
* A multipart name/value pair whose member is named differently by the app's parser: a
  part ``name="value"; name*=UTF-8''x`` is ``value`` to python-multipart (Starlette,
  FastAPI), which reads the plain name, and ``x`` to webob; only webob's name was paired.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.fake_api import Collector
from tests.test_redaction_pairs import SECRET, _form, _json, _logged, _parts

S = SECRET


LEAKS: list[Any] = [
    pytest.param(_form(f"next=%25253Fpassword%25253D{S}"), id="form URL encoded three times"),
    pytest.param({"query": f"next=a%25253D1%252526password%25253D{S}"},
                 id="query form encoded three times"),
    pytest.param(_json({"next": f"a%253D1%2526password%253D{S}"}), id="json form encoded twice"),
    pytest.param(_json({"next": f"%252Fcb%253Fpassword%253D{S}"}), id="json URL encoded twice"),
    pytest.param(_json({"next": f"%25252Fcb%25253Fpassword%25253D{S}"}),
                 id="json URL encoded three times"),
    pytest.param(_parts(('name="next"', f"a%253D1%2526password%253D{S}")),
                 id="multipart form encoded twice"),
    pytest.param(_parts(("name=\"value\"; name*=UTF-8''x", S), ('name="name"', "password")),
                 id="multipart value field by its plain name"),
    pytest.param(_parts(('name="value"', S), ("name=\"name\"; name*=UTF-8''x", "password")),
                 id="multipart name field by its plain name"),
]


@pytest.mark.parametrize("request_", LEAKS)
def test_a_secret_encoded_once_more_or_named_otherwise_never_reaches_the_collector(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    hits, entry = _logged(collector, inline_wrap, request_, denylist=["password", "token"])
    assert hits == []
    assert "REDACTED" in json.dumps(entry["request"])


KEPT: list[Any] = [
    pytest.param(_form("next=%25252Fhome%25253Fpage%25253D2"), id="encoded three times, no key"),
    pytest.param(_json({"next": "a%253D1%2526page%253D2"}), id="json encoded twice, no key"),
    pytest.param(_parts(("name=\"value\"; name*=UTF-8''x", "42"), ('name="name"', "Zoe")),
                 id="multipart pair naming no denied key"),
]


@pytest.mark.parametrize("request_", KEPT)
def test_ordinary_data_encoded_so_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    _, entry = _logged(collector, inline_wrap, request_, denylist=["password"])
    assert "REDACTED" not in json.dumps(entry["request"])


def test_long_distinct_names_are_not_kept_by_the_redactor() -> None:
    """A client sending forms each with a distinct long name (a form's is up to
    max_body_bytes) pinned them in the redactor's name caches (1,024 raw names, 2,048
    decoded ones, 1,024 bracketed): 1,100 names of 200 KB held 220 MB for the life of the
    process. A name past 256 characters is read each time, not kept; its value is still
    redacted as its name says."""
    import gc
    import tracemalloc

    from readme_metrics.har.redaction import Redactor

    redactor = Redactor(denylist=["password"])
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(1100):
            name = f"n{index:05d}" + "a" * 20_000
            assert redactor.query_string(f"{name}=1&x[{name}]=2&password=s") == (
                f"{name}=1&x[{name}]=2&password=%5BREDACTED%201%5D")
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 4_000_000, held  # (1,100 names of 20 KB: 62 MB before)
    long_name = "password" + "[a]" * 100
    assert redactor.query_string(f"{long_name}=s") == f"{long_name}=%5BREDACTED%201%5D"


def test_a_form_holding_a_percent_sign_is_not_decoded_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A form field holding "%" ("discount=100%25") made query_string decode the whole form
    to look for a value encoded twice (the "%25" look of 49a6f37): 44% more instructions
    for a 100 KB form of 3,000 fields with one (callgrind, 49.5 M at eef6b66, 68.6 M at
    49a6f37). Only an escape encoded twice of "=", "{" or "[" ("%253D") is a reason."""
    from readme_metrics.har.redaction import Redactor

    whole: list[str] = []
    real = Redactor.names_key_decoded
    form = "&".join(f"f{i}=value%20{i}%2C+more" for i in range(40)) + "&discount=100%25"

    def spy(self: Redactor, text: str) -> bool:
        if text == form:
            whole.append(text)
        return real(self, text)

    monkeypatch.setattr(Redactor, "names_key_decoded", spy)
    redactor = Redactor(denylist=["password", "token"])
    assert redactor.query_string(form) == form
    assert whole == []
    twice = f"next=a%253D1%2526password%253D{S}&discount=100%25"
    assert S not in redactor.query_string(twice)
    assert whole == []
