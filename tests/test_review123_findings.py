"""review123: adversarial review of hostile31's zip reading (har/zip_entries.py,
har/inflation_budget.py) and delivery40.

1. A zip three deep (a zip in a zip's deflated entry in a zip's deflated entry): the
   third's deflated entries were never inflated (two deep at most) and the body went
   out as base64 that ``unzip`` reads, its ``.env`` unread. A zip past the depth read
   whose entries are compressed is now hidden whole, unread, as a zip while the budget
   is spent is.
2. A compressed file in a zip entry other than one gzip layer: ``creds.env.gz.gz`` (a
   gzip of a gzip) and a zlib stream (``creds.env.z``, ``.zz``) went out unread. Each
   entry that starts like a compressed stream is now undone layer by layer as a body
   is (har/body_compressed.py: gzip, zlib, zstd; four layers), one still compressed
   past that hidden whole.
"""

from __future__ import annotations

import gzip
import re
import threading
import zipfile
import zlib
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import inflation_budget
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.zip_entries import inflated_entries
from tests.support.fake_api import Collector, Reply
from tests.support.flask_echo import body_texts, logged_echo
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.sent_bodies import bodies_logged, kept_as_sent
from tests.support.uwsgi_run import NO_UWSGI, uwsgi
from tests.support.zip_bodies import nested_zip, zip_of
from tests.test_hostile31_findings import ENV, _hidden

PROSE = b"The monkey presses a key on the keyboard.\n" * 50


@pytest.fixture(autouse=True)
def full_budget() -> None:
    inflation_budget.BUDGET.refill()


# 1. zips nested past the depth read ---------------------------------------------------

@pytest.mark.parametrize("depth", [2, 3, 5])
def test_a_zip_nested_past_the_depth_read_is_hidden(depth: int) -> None:
    assert _hidden(nested_zip(zip_of({"creds.env": ENV}), depth), "application/zip")
    assert _hidden(nested_zip(zip_of({"creds.env": ENV}), depth), "application/octet-stream")


def test_guard_nested_zips_of_stored_entries_are_read_as_ever() -> None:
    # (Nothing compressed three deep: its bytes are read as they are, kept.)
    body = nested_zip(zip_of({"notes.md": PROSE}, zipfile.ZIP_STORED), 3, zipfile.ZIP_STORED)
    assert kept_as_sent(body, "application/zip", Redactor(["key", "password"]))
    assert kept_as_sent(nested_zip(zip_of({"notes.md": PROSE}), 1), "application/zip",
                        Redactor(["key", "password"]))


def test_guard_a_docx_in_a_zip_is_read_and_kept_one_deeper_is_hidden() -> None:
    # (The cost: a .docx in a zip in a zip, its entries deflated three deep, is hidden
    # whole, as any zip past the depth read.)
    docx = zip_of({"[Content_Types].xml": b"<Types/>",
                 "word/document.xml": b"<w:document><w:t>" + PROSE + b"</w:t></w:document>"})
    deny = Redactor(["password", "secret"])
    assert kept_as_sent(docx, "application/zip", deny)
    assert kept_as_sent(zip_of({"report.docx": docx}), "application/zip", deny)
    assert _hidden(zip_of({"a.zip": zip_of({"report.docx": docx})}), "application/zip")


# 2. compressed files in entries: layers, zlib ------------------------------------------

COMPRESSED = {
    "gz-gz-stored": zip_of({"creds.env.gz.gz": gzip.compress(gzip.compress(ENV))},
                         zipfile.ZIP_STORED),
    "gz-gz-deflated": zip_of({"creds.env.gz.gz": gzip.compress(gzip.compress(ENV))}),
    "zlib-stored": zip_of({"creds.env.z": zlib.compress(ENV)}, zipfile.ZIP_STORED),
    "zlib-deflated": zip_of({"creds.env.zz": zlib.compress(ENV)}),
    "zlib-in-gz": zip_of({"creds.gz": gzip.compress(zlib.compress(ENV))}, zipfile.ZIP_STORED),
}


@pytest.mark.parametrize("shape", COMPRESSED)
def test_a_compressed_file_in_a_zip_entry_naming_a_denied_key_is_hidden(shape: str) -> None:
    assert _hidden(COMPRESSED[shape], "application/zip")


def test_a_file_compressed_past_four_layers_in_a_zip_is_hidden_unread() -> None:
    data = PROSE
    for _ in range(5):
        data = gzip.compress(data)
    assert inflated_entries(zip_of({"notes.md.gz": data}, zipfile.ZIP_STORED)) is None
    assert _hidden(zip_of({"notes.md.gz": data}, zipfile.ZIP_STORED), "application/zip")


def test_guard_compressed_prose_in_a_zip_is_kept() -> None:
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        body = zip_of({"a.gz.gz": gzip.compress(gzip.compress(PROSE)),
                     "b.z": zlib.compress(PROSE)}, method)
        assert kept_as_sent(body, "application/zip", Redactor(["key", "password"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(COMPRESSED)), st.binary(max_size=64), st.integers(0, 200))
def test_any_bytes_in_a_compressed_entry_or_a_nested_zip_are_read_without_raising(
        shape: str, noise: bytes, at: int) -> None:
    inflation_budget.BUDGET.refill()
    for body in (COMPRESSED[shape], THROUGH["three-deep"]):
        changed = bytearray(body)
        changed[at:at + len(noise)] = noise
        bodies_logged(bytes(changed), "application/zip")


# Through a real Flask app and the collector ------------------------------------------

THROUGH = {
    "three-deep": nested_zip(zip_of({"creds.env": ENV}), 2),
    "gz-gz": COMPRESSED["gz-gz-stored"],
    "zlib": COMPRESSED["zlib-stored"],
}


@pytest.mark.parametrize("shape", THROUGH)
def test_through_a_flask_app_and_the_collector(collector: Collector, shape: str) -> None:
    log = logged_echo(collector, THROUGH[shape], "application/zip", ["password"],
                      max_body_bytes=2 << 20)
    for text in body_texts(log):
        assert text.startswith("[REDACTED")


# 3. uWSGI's graceful harakiri (delivery40's --idle, the same kill) --------------------

_STUCK_APP = '''\
import os
import time

from readme_metrics import MetricsApiConfig, MetricsMiddleware


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/stuck":
        while True:
            time.sleep(0.1)
    return [str(os.getpid()).encode()]


def grouping(request):
    return {"api_key": "caller-r123", "label": "review123"}


app = MetricsMiddleware(_app, MetricsApiConfig(grouping_function=grouping))
'''


@NO_UWSGI
@pytest.mark.e2e
def test_a_graceful_harakiri_close_ends_before_its_kill_and_says_what_it_lost(
        tmp_path: Path, collector: Collector) -> None:
    """``--harakiri=2 --harakiri-graceful-timeout=3``: a request stuck past 2 s has the
    master send its worker SIGTERM, then SIGKILL 3 s after the deadline, whatever
    ``--worker-reload-mercy``. The API fails every POST and ``shutdown_timeout`` is 15 s:
    before, the close began at the SIGTERM and was killed midway, the 4 logs held and
    the stuck request's lost with no line. Now it ends before the kill and says so,
    naming the option."""
    collector.default = Reply(status=503, body=b"down")
    with uwsgi(tmp_path, collector, "--harakiri=2", "--harakiri-graceful-timeout=3",
               app=_STUCK_APP, shutdown_timeout="15") as (process, base, output):
        for i in range(4):
            assert requests.get(f"{base}/i{i}", timeout=LINE_WAIT).status_code == 200
        stuck = threading.Thread(target=_ask, args=(f"{base}/stuck",), daemon=True)
        stuck.start()
        wait_until(lambda: "died, killed by signal 9" in output.read_text(errors="replace")
                   or "not delivered" in output.read_text(errors="replace"),
                   timeout=6 * LINE_WAIT)
        wait_until(lambda: re.search(r"(?:died|exited|respawn)", output.read_text(
            errors="replace")) is not None, timeout=6 * LINE_WAIT)
        said = output.read_text(errors="replace")
    assert "--harakiri-graceful-timeout" in said, said
    assert [int(n) for n in re.findall(r"(\d+) logs? not delivered", said)] == [5], said
    assert collector.logs == []


def _ask(url: str) -> None:
    try:
        requests.get(url, timeout=6 * LINE_WAIT)
    except requests.RequestException:  # (the harakiri cut it)
        pass
