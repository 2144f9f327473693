"""hostile33: compressed and archived bodies that still went out unread (NOTE43).

1. A zip read to its 4 MiB bound of inflated text, its rest unread: 300 entries of
   20 KB, then ``creds.env`` (``PASSWORD=...``), went out as base64 with the ``.env``
   never inflated. Now a zip whose compressed entries are not all read to their end
   (the bound reached, or an entry of bzip2/LZMA whose size comes after it) is hidden
   whole unread, as a gzip body reaching ``max_body_bytes`` is.
2. bzip2: a ``.bz2`` body (``application/x-bzip2``, octet-stream, no type) and a
   ``.bz2`` file in a zip entry were never read. Now read as gzip is
   (har/body_compressed.py: the same layers, the same bound, in bounded pieces).
3. A zip, gzip or bzip2 file as base64 in a JSON string (``{"file": "UEsDB..."}``)
   went out as written. Now such a value is decoded and read as a binary body is; one
   holding a denied key is hidden (``[REDACTED n]``), the rest of the document kept.
4. text/plain ``password = s`` (blanks around ``=``) went out in clear: the form's
   reading named the pair ``password `` (a blank in it). Now a text/plain line's pair
   is named with its blanks trimmed.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import random
import tracemalloc
import zipfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import inflation_budget
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.zip_entries import MOST_INFLATED, inflated_entries
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.zip_bodies import entry
from tests.support.zip_bodies import zip_of as _zip
from tests.test_hostile31_findings import ENV, _hidden

PROSE = b"The monkey presses a key on the keyboard.\n" * 50
DENY = Redactor(["password"])


@pytest.fixture(autouse=True)
def full_budget() -> None:
    inflation_budget.BUDGET.refill()


def _words(count: int, seed: int) -> bytes:
    """Text that deflates about 3 to 1 (not a bomb): ``count`` bytes of words."""
    chosen = random.Random(seed)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"report", b"notes", b"monkey"]
    return b" ".join(chosen.choice(words) + str(chosen.randrange(999)).encode()
                     for _ in range(count // 6))[:count]


def _streamed_zip(entries: dict[str, bytes], method: int) -> bytes:
    """A zip written to a stream that cannot seek: each entry's sizes after it."""
    buffer = io.BytesIO()

    class Unseekable(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            return buffer.write(data)

    with zipfile.ZipFile(Unseekable(), "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(entry(name, archive), data)
    return buffer.getvalue()


def _leaks(log: dict[str, Any]) -> bool:
    """Whether the log holds the secret, as written or in any base64 of its bodies."""
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    texts = [json.dumps(log)]
    for record in (entry["request"].get("postData", {}), entry["response"]["content"]):
        if record.get("encoding") == "base64" or record.get("comment") == "base64":
            texts.append(_unpacked(base64.b64decode(record["text"])).decode("latin-1"))
    return any(SECRET in text for text in texts)


def _unpacked(data: bytes) -> bytes:
    """What a reader gets out of ``data`` with unzip, gunzip, bunzip2."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return b"\n".join(_unpacked(archive.read(name)) for name in archive.namelist())
    if data.startswith(b"\x1f\x8b"):
        return _unpacked(gzip.decompress(data))
    if data.startswith(b"BZh"):
        return _unpacked(bz2.decompress(data))
    return data


# 1. a zip read to its bound -----------------------------------------------------------

@pytest.fixture(scope="module")
def big() -> bytes:
    """300 entries of 20 KB of words and the .env: made for the module's tests that read
    it (at import each xdist worker made it, 0.7 s of CPU, to collect the module)."""
    return _zip({**{f"part{i}.txt": _words(20_000, i) for i in range(300)}, "creds.env": ENV})


def test_a_zip_past_its_bound_of_inflated_text_is_hidden_unread(big: bytes) -> None:
    assert len(big) < 3 << 20  # (20 KB deflates about 2.5 to 1: no bomb)
    assert inflated_entries(big) is None
    assert _hidden(big, "application/zip")
    assert _hidden(big, "application/octet-stream")


def test_a_zip_bomb_is_hidden_unread() -> None:
    bomb = _zip({"zeros.bin": bytes(16 << 20)})
    assert inflated_entries(bomb) is None
    assert _hidden(bomb, "application/zip")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_bzip2_or_lzma_entry_of_unknown_size_is_hidden_unread(method: int) -> None:
    # (zipfile writes to a stream that cannot seek with the sizes after each entry:
    # such an entry was skipped, its .env sent in base64 that unzip reads.)
    body = _streamed_zip({"creds.env": ENV}, method)
    assert _unpacked(body).count(SECRET.encode()) == 1
    assert _hidden(body, "application/zip")


def test_guard_a_zip_read_whole_within_the_bound_is_kept() -> None:
    # (Just under the bound: 190 entries of 20 KB, 3.8 MB of text.)
    body = _zip({f"part{i}.txt": _words(20_000, i) for i in range(190)})
    text = inflated_entries(body)
    assert text is not None and len(text) < MOST_INFLATED
    assert kept_as_sent(body, "application/zip", DENY)
    inflation_budget.BUDGET.refill()  # (that body spent it: 3 readings of 3.8 MB)
    assert kept_as_sent(_streamed_zip({"notes.md": PROSE}, zipfile.ZIP_DEFLATED),
                        "application/zip", DENY)


def test_the_bound_costs_memory_linear_in_the_text_read(big: bytes) -> None:
    tracemalloc.start()
    try:
        bodies_logged(big, "application/zip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # (The body twice, its base64, and the bound's 4 MiB of text read.)
    assert peak < 6 * len(big) + 3 * MOST_INFLATED, (peak, len(big))


def test_through_a_flask_app_and_the_collector_a_big_zip(collector: Collector,
                                                        big: bytes) -> None:
    log = logged_echo(collector, big, "application/zip", max_body_bytes=4 << 20)
    assert not _leaks(log)
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    assert entry["request"]["postData"]["text"].startswith("[REDACTED")


# 2. bzip2 -----------------------------------------------------------------------------

BZIPPED = {
    "body": bz2.compress(ENV),
    "two-streams": bz2.compress(PROSE) + bz2.compress(ENV),
    "bz2-in-gzip": gzip.compress(bz2.compress(ENV)),
    "gzip-in-bz2": bz2.compress(gzip.compress(ENV)),
}


@pytest.mark.parametrize("mime", ["application/x-bzip2", "application/octet-stream", None])
@pytest.mark.parametrize("shape", BZIPPED)
def test_a_bzip2_body_naming_a_denied_key_is_hidden(shape: str, mime: str) -> None:
    assert _hidden(BZIPPED[shape], mime)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_bz2_file_in_a_zip_entry_naming_a_denied_key_is_hidden(method: int) -> None:
    assert _hidden(_zip({"creds.env.bz2": bz2.compress(ENV)}, method), "application/zip")
    assert _hidden(_zip({"creds.env.gz.bz2": bz2.compress(gzip.compress(ENV))}, method),
                   "application/zip")


def test_guard_bzip2_of_prose_is_kept_and_a_bzip2_bomb_hidden() -> None:
    assert kept_as_sent(bz2.compress(PROSE), "application/x-bzip2", DENY)
    assert kept_as_sent(_zip({"notes.md.bz2": bz2.compress(PROSE)}, zipfile.ZIP_STORED),
                        "application/zip", DENY)
    # (A layer reaching the bound cannot be checked whole, as a gzip bomb's: 16 MiB of
    # zeros is 4 times the bound; bzip2 takes 0.1 s of CPU to make it, 0.5 s for 64.)
    assert _hidden(bz2.compress(bytes(16 << 20)), "application/x-bzip2")


def test_a_corrupt_bzip2_body_is_read_as_far_as_it_goes() -> None:
    broken = bytearray(bz2.compress(ENV) + bz2.compress(PROSE * 40))
    broken[-30:] = b"\xff" * 30
    assert _hidden(bytes(broken), "application/x-bzip2")


def test_a_bzip2_bomb_is_bounded_in_memory() -> None:
    # (About 80 bytes. 64 MiB, not 256: read whole it is 4 times the bound below, and
    # bzip2 takes 0.5 s of CPU to make it, not 1.9 s; suite40.)
    bomb = bz2.compress(bytes(64 << 20))
    tracemalloc.start()
    try:
        bodies_logged(bomb, "application/x-bzip2")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # (The bound the test reads to, 4 MiB, a few times over; bzip2's own block
    # buffers, 3.6 MB at most, are outside tracemalloc.)
    assert peak < 4 * (4 << 20), peak


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.integers(0, 120))
def test_any_bytes_after_bzip2_magic_are_read_without_raising(noise: bytes, at: int) -> None:
    body = bytearray(bz2.compress(ENV))
    body[10 + at:10 + at + len(noise)] = noise
    bodies_logged(bytes(body), "application/x-bzip2")
    bodies_logged(_zip({"a.bz2": bytes(body)}, zipfile.ZIP_STORED), "application/zip")


def test_through_a_flask_app_and_the_collector_a_bzip2_body(collector: Collector) -> None:
    log = logged_echo(collector, bz2.compress(ENV), "application/x-bzip2")
    assert not _leaks(log)


# 3. archives as base64 in a JSON string ------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


IN_JSON = {
    "zip": _b64(_zip({"creds.env": ENV})),
    "zip-stored": _b64(_zip({"creds.env": ENV}, zipfile.ZIP_STORED)),
    "gzip": _b64(gzip.compress(ENV)),
    "bzip2": _b64(bz2.compress(ENV)),
    "data-url": "data:application/zip;base64," + _b64(_zip({"creds.env": ENV})),
    "urlsafe-unpadded": base64.urlsafe_b64encode(gzip.compress(ENV * 3)).decode().rstrip("="),
}


@pytest.mark.parametrize("shape", IN_JSON)
def test_an_archive_in_a_json_string_naming_a_denied_key_is_hidden(shape: str) -> None:
    body = json.dumps({"name": "backup", "file": IN_JSON[shape],
                       "list": [IN_JSON[shape]]}).encode()
    for text in bodies_logged(body, "application/json"):
        document = json.loads(text)
        assert document["name"] == "backup"
        assert document["file"].startswith("[REDACTED")
        assert document["list"][0].startswith("[REDACTED")


def test_guard_an_archive_of_prose_in_a_json_string_is_kept_as_sent() -> None:
    body = json.dumps({"file": _b64(_zip({"notes.md": PROSE})),
                       "gz": _b64(gzip.compress(PROSE)), "note": "H4sI is gzip"}).encode()
    assert kept_as_sent(body, "application/json", Redactor(["password", "key"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["UEsDB", "H4sI", "QlpoOTFBWSZTW", "KLUv/", "data:;base64,H4sI"]),
       st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_",
               max_size=200))
def test_any_base64_after_an_archive_start_is_read_without_raising(start: str,
                                                                   rest: str) -> None:
    body = json.dumps({"file": start + rest, "password": "x"}).encode()
    for text in bodies_logged(body, "application/json"):
        assert json.loads(text)["password"] == "[REDACTED 1]"


def test_through_a_flask_app_and_the_collector_a_zip_in_json(collector: Collector) -> None:
    body = json.dumps({"name": "backup", "file": IN_JSON["zip"]}).encode()
    log = logged_echo(collector, body, "application/json")
    assert not _leaks(log)
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    for record in (entry["request"]["postData"], entry["response"]["content"]):
        document = json.loads(record["text"])
        assert document["name"] == "backup"
        # (Its base64 as written before: the .env one base64 -d | unzip away.)
        assert document["file"].startswith("[REDACTED")


# 4. text/plain pairs with blanks around "=" --------------------------------------------

SPACED = {
    "both": f"password = {SECRET}\n",
    "before": f"password ={SECRET}\n",
    "indented": f"  password = {SECRET}\n",
    "tab": f"password\t=\t{SECRET}\r\n",
    "dotted": f"db.password = {SECRET}\n",
    "among": f"Here are the settings:\nuser = ada\npassword = {SECRET}\nport = 5432\n",
    "upper": f"PASSWORD = {SECRET}\n",
}


@pytest.mark.parametrize("mime", ["text/plain", "application/octet-stream", None])
@pytest.mark.parametrize("shape", SPACED)
def test_a_text_plain_pair_spaced_around_its_equals_is_hidden(shape: str, mime: str) -> None:
    for text in bodies_logged(SPACED[shape].encode(), mime):
        assert SECRET not in text
        assert "REDACTED" in text


def test_guard_spaced_prose_and_other_names_are_kept() -> None:
    for text in ("user = ada\nport = 5432\n", "the password = what you typed\n",
                 "x = 1 + 2\n", "passwords = many\n"):
        assert kept_as_sent(text.encode(), "text/plain", DENY), text
    # (The rest of the body as sent: only the value hidden.)
    [text, _] = bodies_logged(SPACED["among"].encode(), "text/plain")
    assert text.startswith("Here are the settings:\nuser = ada\npassword = [REDACTED")
    assert text.endswith("\nport = 5432\n")


def test_through_a_flask_app_and_the_collector_a_spaced_pair(collector: Collector) -> None:
    log = logged_echo(collector, SPACED["among"], "text/plain")
    assert not _leaks(log)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["", " ", "\t", "  "]), st.sampled_from(["", " ", "\t"]),
       st.sampled_from(["", " ", "\t"]), st.text(alphabet="abcdefXYZ0123456789!@#$%^*()",
                                                min_size=4, max_size=40),
       st.sampled_from(["", "\r", " "]), st.text(max_size=60))
def test_any_spaced_pair_naming_a_denied_key_is_hidden(indent: str, before: str, after: str,
                                                       value: str, end: str,
                                                       other: str) -> None:
    secret = "Zq" + value
    line = f"{indent}password{before}={after}{secret}{end}"
    body = (other.replace("\n", " ").replace("password", "") + "\n" + line + "\n").encode()
    for text in bodies_logged(body, "text/plain"):
        assert secret not in text
