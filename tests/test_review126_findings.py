"""review126: an adversarial read of hostile33 (base64 archives in JSON, bzip2) and
delivery42 (an interrupt during the exit's close).

1. hostile33's base64 archives in a JSON document were each decoded to the 4 MiB bound
   of each layer, outside the process's inflation budget (har/inflation_budget.py, which
   a zip's entries take from): a bzip2 bomb is 64 bytes of base64, and each cost the
   worker 37 to 59 ms. A 13.6 KB JSON body of 200 of them cost 11.8 s (post_data alone;
   the response's copy as much again), 1 MiB of them about 15 minutes; a multipart of
   200 such files (33 KB) 6.9 s. One caller starved every other (hostile31's promise).
   Now the layers they decode are taken from the budget as a zip's entries are: one to
   read while it is spent is hidden unread (0.17 s and 0.27 s for the same bodies).
2. A zip as base64 in a JSON document in a JSON string (``{"o": "{\\"f\\": \\"UEsDB
   ...\\"}"}``) went out as written: the inner document was read only when its text
   named a denied key.
3. A data URL written ``DATA:application/zip;BASE64,...`` (the scheme is
   case-insensitive, RFC 2397/3986) went out as written.
"""

from __future__ import annotations

import base64
import bz2
import json
import time

import pytest

from readme_metrics.har import inflation_budget
from readme_metrics.har.bodies import post_data
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo
from tests.support.sent_bodies import DENY, SECRET, bodies_logged, body_head, kept_as_sent
from tests.support.zip_bodies import zip_of as _zip
from tests.test_hostile31_findings import ENV

#: A bzip2 bomb: 4 MiB less 100 bytes of zeros (under the bound: read to its end, and
#: kept, it names nothing), 64 bytes of base64.
BOMB = base64.b64encode(bz2.compress(bytes((4 << 20) - 100))).decode()
ZIPPED = base64.b64encode(_zip({"creds.env": ENV})).decode()
MANY = 40  # (160 MiB of layers: the budget holds 8 MiB and, here, never fills)


@pytest.fixture(autouse=True)
def full_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget full, and its clock stopped: it fills at 1 MiB a second, so a test
    that took longer under load (the Flask one: 80 layers of 4 MiB, request and answer)
    got more of them read, and flush(10) did not see them through (suite36's -n 6).
    Stopped, what is read is what 8 MiB holds, whatever the machine's speed."""
    stopped = time.monotonic()
    monkeypatch.setattr(inflation_budget.BUDGET, "_clock", lambda: stopped)
    inflation_budget.BUDGET.refill()


def _refused() -> int:
    return inflation_budget.BUDGET.refused


# 1. the budget ----------------------------------------------------------------------

def test_base64_archives_in_json_take_from_the_inflation_budget() -> None:
    assert len(BOMB) < 100
    body = json.dumps({"files": [BOMB] * MANY}).encode()
    before = _refused()
    record = post_data(body, len(body), body_head("application/json"), DENY, 1 << 22)
    files = json.loads(record["text"])["files"]
    # (Read while the budget held anything, then hidden unread: before, all 40 were
    # decoded to 4 MiB each, unbudgeted.)
    assert _refused() > before
    assert files[0] == BOMB
    assert any(value.startswith("[REDACTED") for value in files)


def test_multipart_files_compressed_take_from_the_inflation_budget() -> None:
    blob = bz2.compress(bytes((4 << 20) - 100))
    body = b"".join(
        b'--XyZ\r\nContent-Disposition: form-data; name="f%d"; filename="a%d.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" % (at, at) + blob + b"\r\n"
        for at in range(MANY)) + b"--XyZ--\r\n"
    before = _refused()
    post_data(body, len(body), body_head("multipart/form-data; boundary=XyZ"), DENY, 1 << 22)
    assert _refused() > before


def test_guard_with_a_full_budget_an_archive_of_prose_is_kept() -> None:
    prose = base64.b64encode(bz2.compress(b"The monkey presses a key.\n" * 40)).decode()
    assert kept_as_sent(json.dumps({"file": prose}).encode(), "application/json", DENY)


def test_guard_with_the_budget_spent_an_archive_in_json_is_hidden() -> None:
    inflation_budget.BUDGET.spend(1 << 40)  # (the fixture refills it after)
    try:
        body = json.dumps({"name": "backup", "file": base64.b64encode(
            bz2.compress(ENV)).decode()}).encode()
        for text in bodies_logged(body, "application/json"):
            document = json.loads(text)
            assert document["name"] == "backup"
            assert document["file"].startswith("[REDACTED")
    finally:
        inflation_budget.BUDGET.refill()


def test_through_a_flask_app_and_the_collector_many_bombs(collector: Collector) -> None:
    log = logged_echo(collector, json.dumps({"files": [BOMB] * MANY}), "application/json")
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    for record in (entry["request"]["postData"], entry["response"]["content"]):
        files = json.loads(record["text"])["files"]
        assert len(files) == MANY
        assert any(value.startswith("[REDACTED") for value in files)


# 2. JSON in a JSON string ------------------------------------------------------------

NESTED = {
    "in-a-string": {"name": "backup", "o": json.dumps({"f": ZIPPED})},
    "two-deep": {"name": "backup", "o": json.dumps({"p": json.dumps({"f": ZIPPED})})},
    "in-a-list": {"name": "backup", "o": json.dumps([ZIPPED])},
}


@pytest.mark.parametrize("shape", NESTED)
def test_an_archive_in_json_in_a_json_string_is_hidden(shape: str) -> None:
    for text in bodies_logged(json.dumps(NESTED[shape]).encode(), "application/json"):
        assert ZIPPED not in text.replace("\\/", "/")
        assert json.loads(text)["name"] == "backup"
        assert "REDACTED" in text


def test_guard_json_in_a_json_string_of_other_strings_is_kept() -> None:
    body = json.dumps({"o": json.dumps({"f": "H4sI is gzip's magic", "n": 1})}).encode()
    assert kept_as_sent(body, "application/json", DENY)


def test_through_a_flask_app_and_the_collector_json_in_json(collector: Collector) -> None:
    log = logged_echo(collector, json.dumps(NESTED["in-a-string"]), "application/json")
    assert ZIPPED not in json.dumps(log).replace("\\/", "/")
    assert SECRET not in json.dumps(log)


# 3. a data URL's case ----------------------------------------------------------------

@pytest.mark.parametrize("start", ["DATA:application/zip;BASE64,", "Data:;Base64,"])
def test_a_data_url_in_any_case_is_read(start: str) -> None:
    body = json.dumps({"name": "backup", "file": start + ZIPPED}).encode()
    for text in bodies_logged(body, "application/json"):
        assert json.loads(text)["file"].startswith("[REDACTED")


