"""house22: moves that keep behaviour (modules with one job), held to it.

* ``key_shapes.archives_in`` reads a run with ``base64_runs.runs_held`` (no second
  search for the magics it found in the bytes): on any text holding one, the same
  answer as ``archive_held``, which searches first.
* The Redactor's needle tables are a public frozen record (``redactor.needles``).
* ``Delivery``'s per-process state is ``delivery.per_process``; the import paths tests
  and users know stay.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import key_shapes
from readme_metrics.har.base64_archives import archive_in
from readme_metrics.har.base64_runs import archive_held, runs_held
from readme_metrics.har.key_shapes import archives_in
from readme_metrics.har.redaction import Redactor
from tests.support.zip_bodies import zip_of

DENY = Redactor(["password", "api key", "straße", "client/secret"])
_ARCHIVES = [
    base64.b64encode(zip_of({"a.env": b"PASSWORD=hunter2\n"})).decode(),
    base64.b64encode(zip_of({"a.txt": b"nothing to see " * 20})).decode(),
    base64.b64encode(gzip.compress(b'{"password": "x"}')).decode(),
    base64.b64encode(gzip.compress(b"hello " * 40)).decode(),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_ARCHIVES), st.sampled_from(
    ["UEsDB", "H4sI", "eJ", "KLUv", " ", '"', "=", "\n", "%2B", "\0"]), st.text(
        alphabet="AQgw+/=xyz \"{}:", max_size=30)), min_size=1, max_size=6),
       st.integers(0, 3))
def test_runs_held_answers_as_archive_held_where_a_magic_stands(
        parts: list[str], cut: int) -> None:
    text = "".join(parts)
    text = text[:len(text) - cut] if cut < len(text) else text
    if archive_in(text):
        assert runs_held(DENY, text) == archive_held(DENY, text), text
    data = text.encode("latin-1", "replace")
    assert archives_in(DENY, data) == _archives_in_before(data), text


def _archives_in_before(data: bytes) -> bool:
    """key_shapes.archives_in as 336939fa had it (archive_held: the text searched again)."""
    if (any(magic in data for magic in key_shapes._MAGICS) or key_shapes._zlib_run_in(
            data)) and archive_held(DENY, data.decode("latin-1")):
        return True
    return data.count(b"\0") * 16 >= len(data) > 0 and any(
        magic in data for magic in key_shapes._WIDE) and archive_held(
        DENY, data.translate(None, b"\0").decode("latin-1"))


def test_the_needles_are_a_read_only_record() -> None:
    needles = DENY.needles
    assert needles.names == ("api key", "client/secret", "password", "strasse")
    assert needles.pointed and needles.spaced and not needles.wide
    assert needles.in_bytes == (b"api key", b"client/secret", b"password", b"strasse")
    with pytest.raises(dataclasses.FrozenInstanceError):
        needles.pointed = False  # type: ignore[misc]
    assert Redactor([]).needles.names == ()


def test_delivery_keeps_its_import_paths() -> None:
    from readme_metrics.delivery import Delivery
    from readme_metrics.delivery.core import INLINE_TAKEOVERS, WORKER_NAME
    from readme_metrics.delivery.core import Delivery as CoreDelivery
    from readme_metrics.delivery.per_process import PerProcess

    assert Delivery is CoreDelivery and issubclass(Delivery, PerProcess)
    assert WORKER_NAME == "readme-metrics-worker" and INLINE_TAKEOVERS is not None
