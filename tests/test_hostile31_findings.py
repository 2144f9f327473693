"""hostile31: zip bombs on the background worker, and the zip leaks review121 left.

1. Each zip body was inflated to 4 MiB (hostile29, review121) on the background worker,
   6 to 125 ms a MiB: a caller posting 4 KiB zip bombs as fast as it could held the
   worker, and other callers' logs were dropped at the full queue. Now the inflated
   bytes come from one budget per process (har/inflation_budget.py): a zip body whose
   entries are compressed, checked while the budget is spent, is hidden whole unread.
2. A gzip file in a zip entry (``creds.env.gz``, ``backup.tgz``; stored, as ``zip`` stores
   what it cannot shrink, or deflated) went out as base64 with its ``.env`` unread.
3. An .xlsx whose column is headed ``password``: the cells are shared strings,
   ``<si><t>password</t></si>``, no key's shape: the passwords went out as base64 that
   ``unzip`` reads. Now a cell (an XML text node) that is a denied name whole is a key's
   name (as a CSV header's field is); a cell of prose naming it is not.

Gzip bodies themselves (application/gzip, octet-stream, a Content-Encoding gzip on the
request) were already read (har/body_compressed.py): pinned below.
"""

from __future__ import annotations

import gzip
import json
import logging
import tracemalloc
import zipfile
from typing import Any, Iterator, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import inflation_budget, zip_entries
from readme_metrics.har.bodies import post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.inflation_budget import Bucket
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.zip_entries import MOST_INFLATED, inflated_entries
from tests.support.fake_api import Collector
from tests.support.flask_echo import body_texts, logged_echo
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.zip_bodies import tgz_of, zip_of

ENV = f"# the app's settings\nUSER=ada\nPASSWORD={SECRET}\n".encode()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _hidden(body: bytes, mime: str) -> bool:
    return all(text.startswith("[REDACTED") for text in bodies_logged(body, mime))


class Clock:
    """A clock the test moves (no sleep, no timing)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """The process's budget replaced by one on a clock of the test's."""
    moved = Clock()
    monkeypatch.setattr(inflation_budget, "BUDGET", Bucket(clock=moved))
    yield moved


# 1. the budget over time -------------------------------------------------------------

BOMB = zip_of({"zeros.bin": bytes(2 * MOST_INFLATED)})
PROSE = zip_of({"notes.md": b"The monkey presses a key on the keyboard.\n" * 100})


def test_a_bomb_takes_its_inflated_bytes_from_the_budget(clock: Clock) -> None:
    budget = inflation_budget.BUDGET
    reads = 0
    while reads < 10 and budget.open():
        inflated_entries(BOMB)
        reads += 1
    # (8 MiB held, 4 MiB a body: two bodies read, the third refused.)
    assert reads == inflation_budget.BURST // MOST_INFLATED
    assert inflated_entries(PROSE) is None
    clock.now += 1.0  # (1 MiB in: one more body may start)
    assert inflated_entries(PROSE) is not None


def test_a_zip_checked_while_the_budget_is_spent_is_hidden_whole(clock: Clock) -> None:
    for _ in range(4):
        inflated_entries(BOMB)
    assert _hidden(PROSE, "application/zip")
    assert _hidden(zip_of({"creds.env": ENV}), "application/zip")
    # A zip of entries stored as they are costs nothing to read: read as ever.
    assert kept_as_sent(zip_of({"notes.md": b"The monkey.\n" * 40}, zipfile.ZIP_STORED),
                        "application/zip")
    clock.now += 60.0
    assert kept_as_sent(PROSE, "application/zip")


def test_the_spent_budget_is_said_once_a_minute(clock: Clock,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "readme_metrics")
    inflation_budget._SAID.reset()
    for _ in range(12):
        inflated_entries(BOMB)
    said = [r for r in caplog.records if "zip bodies inflate past" in r.getMessage()]
    assert len(said) == 1
    assert "1024 KiB a second" in said[0].getMessage()


def test_guard_the_process_budget_starts_full_and_fills_to_its_burst() -> None:
    clock = Clock()
    bucket = Bucket(rate=10, burst=100, clock=clock)
    assert bucket.open()
    bucket.spend(250)  # (a body read to its own bound: -150 left)
    clock.now += 15.0
    assert not bucket.open()  # (0: nothing held)
    clock.now += 1.0
    assert bucket.open()
    assert bucket.refused == 1
    clock.now += 10_000.0
    bucket.spend(0)
    assert bucket._tokens == 100


# 2. a gzip file in a zip entry -------------------------------------------------------

GZIPPED = {
    "gz-deflated": zip_of({"creds.env.gz": gzip.compress(ENV)}),
    "gz-stored": zip_of({"creds.env.gz": gzip.compress(ENV)}, zipfile.ZIP_STORED),
    "tgz-deflated": zip_of({"backup.tgz": tgz_of(".env", ENV)}),
    "tgz-stored": zip_of({"backup.tgz": tgz_of(".env", ENV)}, zipfile.ZIP_STORED),
    "after-others": zip_of({"notes.md": b"nothing\n" * 100, "b/creds.gz": gzip.compress(ENV)}),
}


@pytest.mark.parametrize("shape", GZIPPED)
def test_a_gzip_file_in_a_zip_entry_naming_a_denied_key_is_hidden(clock: Clock,
                                                                   shape: str) -> None:
    assert _hidden(GZIPPED[shape], "application/zip")


def test_guard_a_gzip_file_of_prose_in_a_zip_is_kept(clock: Clock) -> None:
    prose = b"The monkey presses a key on the keyboard.\n" * 50
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        body = zip_of({"notes.md.gz": gzip.compress(prose), "b.tgz": tgz_of("x.md", prose)},
                    method)
        assert kept_as_sent(body, "application/zip", Redactor(["key", "password"]))


def test_a_gzip_bomb_in_a_zip_is_bounded_in_time_and_memory(clock: Clock) -> None:
    bomb = zip_of({"a.gz": gzip.compress(bytes(64 << 20))}, zipfile.ZIP_STORED)
    tracemalloc.start()
    try:
        text = inflated_entries(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text is None  # (read to the bound, the rest unread: hidden, hostile33)
    assert peak < 3 * MOST_INFLATED


def test_guard_a_corrupt_gzip_in_a_zip_is_read_as_far_as_it_goes(clock: Clock) -> None:
    broken = bytearray(gzip.compress(ENV + b"x" * 5000))
    broken[-20:] = b"\xff" * 20
    assert _hidden(zip_of({"a.gz": bytes(broken)}, zipfile.ZIP_STORED), "application/zip")
    assert inflated_entries(zip_of({"a.gz": b"\x1f\x8b\x08" + b"\xff" * 40},
                                 zipfile.ZIP_STORED)) is not None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.integers(0, 160), st.booleans())
def test_any_bytes_in_a_gzip_in_a_zip_are_read_without_raising(noise: bytes, at: int,
                                                               stored: bool) -> None:
    inflation_budget.BUDGET.refill()
    body = bytearray(GZIPPED["gz-stored" if stored else "gz-deflated"])
    body[at:at + len(noise)] = noise
    bodies_logged(bytes(body), "application/zip")


# 3. xlsx cells -----------------------------------------------------------------------

def _xlsx(cells: list[str]) -> bytes:
    strings = "".join(cell if cell.startswith("<") else f"<si><t>{cell}</t></si>"
                      for cell in cells)
    return zip_of({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
        "xl/sharedStrings.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http:'
            f'//schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(cells)}" '
            f'uniqueCount="{len(cells)}">{strings}</sst>').encode(),
    })


@pytest.mark.parametrize("header", [
    "password", "Password", " PASSWORD ", '<si><t xml:space="preserve">password</t></si>',
    "<si><r><rPr><b/></rPr><t>Password</t></r></si>"])
def test_an_xlsx_column_headed_by_a_denied_name_is_hidden(clock: Clock,
                                                          header: str) -> None:
    assert _hidden(_xlsx(["user", header, "ada", SECRET]), XLSX)


def test_guard_an_xlsx_with_prose_naming_the_key_is_kept(clock: Clock) -> None:
    body = _xlsx(["note", "Reset your password monthly", "The key is on the desk",
                  "token ring", "passwords"])
    assert kept_as_sent(body, XLSX, Redactor(["password", "key", "token"]))


# 4. gzip bodies (already read: pinned) ------------------------------------------------

@pytest.mark.parametrize("mime", ["application/gzip", "application/octet-stream", None])
def test_guard_a_gzip_body_naming_a_denied_key_was_already_hidden(mime: Any) -> None:
    for body in (gzip.compress(ENV), tgz_of(".env", ENV)):
        assert all(text.startswith("[REDACTED") for text in bodies_logged(body, mime))


def test_guard_a_request_declared_gzip_was_already_read() -> None:
    body = gzip.compress(json.dumps({"password": SECRET}).encode())
    head = {"content-type": "application/json", RAW_CONTENT_TYPE: "application/json",
            "content-encoding": "gzip"}
    record = post_data(body, len(body), head, Redactor(["password"]), 1 << 22)
    assert SECRET not in json.dumps(record)


# Through a real Flask app and the collector ------------------------------------------

THROUGH = {
    "gz-in-zip": (GZIPPED["gz-stored"], "application/zip"),
    "tgz-in-zip": (GZIPPED["tgz-deflated"], "application/zip"),
    "xlsx": (_xlsx(["user", "password", "ada", SECRET]), XLSX),
    "spent": (zip_of({"creds.env": ENV}), "application/zip"),
}


@pytest.mark.parametrize("shape", THROUGH)
def test_through_a_flask_app_and_the_collector(collector: Collector, clock: Clock,
                                               shape: str) -> None:
    body, mime = THROUGH[shape]
    if shape == "spent":
        for _ in range(4):
            inflated_entries(BOMB)
    log = logged_echo(collector, body, mime, ["password"], max_body_bytes=2 << 20)
    for text in body_texts(log):
        assert text.startswith("[REDACTED")
    if shape == "spent":
        assert inflation_budget.BUDGET.refused >= 2


def test_a_forked_child_starts_with_a_full_budget_and_a_free_lock() -> None:
    import os

    budget = inflation_budget.BUDGET
    budget.spend(budget.burst * 3)
    assert not budget.open()
    budget._lock.acquire()  # (as another thread would hold it at the fork)
    try:
        child = os.fork()
        if child == 0:
            os._exit(0 if inflation_budget.BUDGET.open() else 1)
    finally:
        budget._lock.release()
    assert os.waitpid(child, 0)[1] == 0
    assert not budget.open()


@pytest.mark.parametrize("sized", [False, True])
def test_stored_gzip_headers_one_after_another_cost_linear_time(clock: Clock,
                                                                sized: bool) -> None:
    # (Each entry's data was taken to the body's end: 1 MiB of headers copied 30,000
    # times. Counted in bytes handed to gunzip, not timed.)
    size = b"\xff\xff\xff\x7f" if sized else bytes(4)
    unit = b"PK\3\4\x14\x00\x00\x00\x00\x00" + bytes(8) + size + size + b"\x00\x00\x00\x00"
    unit += b"\x1f\x8b\x08\x00" + bytes(8)
    handed: list[int] = []
    real = zip_entries._uncompressed

    def counted(data: bytes, left: int) -> Optional[bytes]:
        handed.append(len(data))
        return real(data, left)

    body = unit * ((1 << 20) // len(unit))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zip_entries, "_uncompressed", counted)
        inflated_entries(body)
    assert sum(handed) <= len(body)
