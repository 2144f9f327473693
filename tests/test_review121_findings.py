"""review121: hostile29's landing reviewed.

1. A zip's deflated entries were inflated in order to :data:`MOST_INFLATED` (4 MiB) in
   all: a project's zip whose first entries inflate past it (a 5 MiB log, a folder of
   text data) spent the bound, and its ``.env`` after them went out unread, its value
   in clear (base64 that ``unzip`` reads), through a real Flask app to the collector.
   Each entry's first :data:`HEAD` bytes are now read before any entry's rest.
2. A text starting like a protocol-0 pickle and naming a denied key was walked by
   :func:`pickletools.genops` to its end, 1 us an opcode: a MiB of ``((((`` (a MARK a
   byte) cost the worker 1 s a body, 2 s an exchange echoed (a 4 KiB zip bomb costs
   75 ms). At most :data:`MOST_OPS` opcodes are walked now, the rest's ``V``/``S``
   lines read as its strings.
3. YAML keys review117 found and hostile29 left: ``? !!str password`` (a tag before an
   explicit key's scalar), ``*k : ...`` and ``? *k`` (an alias of ``&k password`` as the
   key): PyYAML reads each as the key ``password``; its value went out in clear.
"""

from __future__ import annotations

import base64
import functools
import json
import pickle
import pickletools
import zipfile
from typing import Any, Iterator

import pytest

from readme_metrics.har import inflation_budget
from readme_metrics.har.key_formats import (
    HEAD,
    MOST_INFLATED,
    MOST_OPS,
    inflated_entries,
    pickle_keyed,
)
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.zip_bodies import zip_of

ENV = f"# the app's settings\nUSER=ada\nPASSWORD={SECRET}\n".encode()
# A log whose lines differ (it deflates to 1/5 or so: the body stays small).
LOG = b"".join(b"GET /items/%d 200 %d ms\n" % (n, n % 97) for n in range(260000))


SPENT = ("log-first", "streamed", "many-big")


@functools.cache
def _spent(shape: str) -> bytes:
    """The zip of ``shape`` (made when a test asks: not at each worker's collection)."""
    if shape == "many-big":
        return zip_of({f"data/{n}.csv": LOG[n * 800000:(n + 1) * 800000 + 400000]
                       for n in range(6)} | {"config/.env": ENV})
    return zip_of({"app.log": LOG, ".env": ENV}, streamed=shape == "streamed")


def test_the_bound_is_spent_by_the_first_entries_alone() -> None:
    assert len(LOG) > MOST_INFLATED
    assert all(len(_spent(shape)) < 2 << 20 for shape in SPENT)


@pytest.mark.parametrize("shape", SPENT)
def test_an_env_after_entries_inflating_past_the_bound_is_hidden(shape: str) -> None:
    for text in bodies_logged(_spent(shape), "application/zip"):
        assert text == "[REDACTED]"


@pytest.mark.parametrize("streamed", [False, True])
def test_guard_entries_are_read_whole_to_the_bound(streamed: bool) -> None:
    body = zip_of({"a.txt": b"a" * (3 << 20), "b.txt": b"b" * (3 << 20)},
                  streamed=streamed)
    # (Read to the bound, the rest of b.txt unread: hidden whole since hostile33.)
    assert inflated_entries(body) is None
    body = zip_of({"a.txt": b"a" * (2 << 20), "b.txt": b"b" * ((2 << 20) - 64)},
                  streamed=streamed)
    text = inflated_entries(body)
    assert text is not None and len(text) == MOST_INFLATED - 64 + 2 * len(b"\n\n")
    assert text.count(b"a") == 2 << 20
    small = zip_of({"a.txt": b"a" * (HEAD + 5), "b.txt": b"b" * 7}, streamed=streamed)
    assert inflated_entries(small) == b"\n\n" + b"a" * (HEAD + 5) + b"\n\n" + b"b" * 7


def test_guard_a_corrupt_entry_past_its_head_is_read_as_far_as_it_goes() -> None:
    body = bytearray(zip_of({"a.txt": LOG[:1 << 20], ".env": ENV}))
    body[len(body) // 3:len(body) // 3 + 8] = b"\xff" * 8
    text = inflated_entries(bytes(body))
    assert text.startswith(b"\n\n" + LOG[:HEAD])
    assert ENV in text


def test_guard_a_zip_of_big_prose_and_notes_is_kept() -> None:
    # (A book of 3.7 MB read whole; one of 5.5 MB, past the bound, is hidden unread
    # since hostile33, as is any zip not read whole.)
    deny = Redactor(["key", "token", "password"])
    notes = b"Press a key. The authors keep tokens of thanks.\n"
    line = b"The monkey wrote it on the keyboard.\n"
    assert kept_as_sent(zip_of({"book.md": line * 100000, "notes.md": notes}),
                        "application/zip", deny)
    for text in bodies_logged(zip_of({"book.md": line * 150000, "notes.md": notes}),
                              "application/zip", deny):
        assert text == "[REDACTED]"


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_an_env_compressed_with_bzip2_or_lzma_is_hidden(method: int) -> None:
    # (A MiB of the log, under the bound: the .env is read and hidden for what it holds.
    # The whole LOG, past the bound, hid the zip unread since hostile33, and LZMA took
    # 4 s of CPU to pack it; with the bzip2/LZMA branch taken out of inflated_entries,
    # review121's bug, the .env goes out in clear at either size.)
    body = zip_of({"README.md": b"# Notes\n\nThe monkey presses a key.\n" * 40,
                   "app.log": LOG[:1 << 20], "creds.env": ENV}, method)
    for text in bodies_logged(body, "application/zip"):
        assert text == "[REDACTED]"


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_guard_a_bzip2_or_lzma_zip_of_prose_is_kept_and_bombs_are_bounded(
        method: int) -> None:
    notes = b"Press a key. The authors keep tokens.\n" * 50
    body = zip_of({"notes.md": notes, "zeros.bin": bytes(16 << 20)}, method)
    # (A bomb's entry past the bound: hidden unread since hostile33; prose alone kept.)
    assert inflated_entries(body) is None
    for text in bodies_logged(body, "application/zip", Redactor(["key", "token", "password"])):
        assert text == "[REDACTED]"
    inflation_budget.BUDGET.refill()  # (the bomb read three times spent it)
    assert kept_as_sent(zip_of({"notes.md": notes}, method), "application/zip",
                        Redactor(["key", "token", "password"]))
    broken = bytearray(body)
    broken[60:90] = b"\xff" * 30
    inflated_entries(bytes(broken))  # (no raise)


# 2. protocol-0 pickles: a bounded walk ------------------------------------------------

MARKS = ("(" * (1 << 20) + "\nVpassword\n").encode()
DENY = Redactor(denylist=["password"])


@pytest.fixture
def walked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Opcodes :func:`pickletools.genops` yielded, counted (the real one walks)."""
    count = [0]
    genops = pickletools.genops

    def counted(data: Any) -> Iterator[Any]:
        for opcode in genops(data):
            count[0] += 1
            yield opcode

    monkeypatch.setattr(pickletools, "genops", counted)
    return count


def test_a_mib_of_opcodes_is_walked_to_a_bound(walked: list[int]) -> None:
    for text in bodies_logged(MARKS, None):
        assert text.startswith("[REDACTED")
    assert 0 < walked[0] <= 2 * MOST_OPS


def test_a_pickle_past_the_bound_has_its_later_keys_read() -> None:
    data = {f"k{n}": n for n in range(MOST_OPS // 3)} | {"password": SECRET}
    text = pickle.dumps(data, 0).decode("latin-1")
    assert pickle_keyed(DENY, text)
    assert pickle_keyed(DENY, text.replace("password", "pass_word")) is False
    for sent in bodies_logged(text.encode("latin-1"), "application/octet-stream"):
        assert SECRET not in sent


def test_guard_prose_starting_like_an_opcode_is_no_pickle() -> None:
    assert pickle_keyed(DENY, "Now the password=1 is here\nand more\n") is False
    assert pickle_keyed(DENY, "(see below)\npassword policy\n" * 2000) is False


# 3. YAML keys through a tag or an alias ----------------------------------------------

YAML_KEYS = {
    "tagged-explicit": f"? !!str password\n: {SECRET}\n",
    "tagged-quoted": f"? !!str \"password\"\n: {SECRET}\n",
    "alias-key": f"name: &k password\n*k : {SECRET}\n",
    "alias-explicit": f"name: &k password\n? *k\n: {SECRET}\n",
    "alias-in-flow": f"names: [&k password, user]\ndb:\n  *k : {SECRET}\n",
}


@pytest.mark.parametrize("shape", YAML_KEYS)
def test_a_yaml_key_through_a_tag_or_an_alias_has_its_value_hidden(shape: str) -> None:
    import yaml

    body = YAML_KEYS[shape]
    assert SECRET in json.dumps(yaml.safe_load(body))  # (PyYAML reads the pair)
    for text in bodies_logged(body.encode(), "application/yaml"):
        assert SECRET not in text
        assert "REDACTED" in text


def test_guard_an_alias_of_another_anchor_is_kept() -> None:
    body = b"name: &k username\n*k : ada\nnote: &n the password is rotated\n*n : x\n"
    assert kept_as_sent(body, "application/yaml")


def _bzip2_env() -> bytes:
    return zip_of({"creds.env": ENV}, zipfile.ZIP_BZIP2)


@pytest.mark.parametrize("shape", ["zip", "pickle", "yaml", "bzip2"])
def test_through_a_flask_app_and_the_collector(collector: Collector, shape: str,
                                               walked: list[int]) -> None:
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    body, mime = {"zip": (_spent("log-first"), "application/zip"),
                  "pickle": (MARKS, "application/octet-stream"),
                  "yaml": (YAML_KEYS["alias-key"].encode(), "application/yaml"),
                  "bzip2": (_bzip2_env(), "application/zip")}[shape]
    app = Flask(__name__)

    @app.route("/upload", methods=["POST"])
    def upload() -> Any:
        return request.get_data(), {"Content-Type": mime}

    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-key"},
        denylist=["password"], max_body_bytes=2 << 20), app)
    try:
        answer = app.test_client().post("/upload", data=body,
                                        headers={"Content-Type": mime})
        assert answer.get_data() == body
        assert extension.flush(10) is True
        [log] = collector.wait_for_logs(1)
    finally:
        extension.close()
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    assert SECRET not in json.dumps(log)
    for record in (entry["request"]["postData"], entry["response"]["content"]):
        text = record["text"]
        if record.get("encoding") == "base64" or record.get("comment") == "base64":
            text = base64.b64decode(text).decode("latin-1")
        assert text.startswith("[REDACTED") if shape != "yaml" else "REDACTED" in text
    assert walked[0] <= 2 * MOST_OPS
