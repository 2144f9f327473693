"""The local collector against hostile or unlucky clients (issue 14, item 6).

DNS rebinding, a world-readable HAR file, a body nested 100,000 arrays deep, a retried
batch larger than ``--keep``, a browser HAR that is continued, copies left by a SIGKILL,
and the Nagle + delayed-ACK stall on a pooled connection. Everything runs against a real
collector on 127.0.0.1 (in-process, or ``python -m readme_metrics collect``).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics.cli.collector import HarFile, LocalCollector
from readme_metrics.cli.collector.server import loopback_host
from tests.support.command import CommandProcess
from tests.support.har_check import har_validator
from tests.support.sample_logs import valid_log

LISTENING = r"listening on (http://127\.0\.0\.1:\d+)"


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[LocalCollector]:
    """An embedded, silent collector that keeps only 1000 calls in memory."""
    running = LocalCollector("127.0.0.1", 0, har_path=tmp_path / "c.har", keep=1000)
    try:
        yield running.start()
    finally:
        running.stop()


# -- DNS rebinding -------------------------------------------------------------------


@pytest.mark.parametrize(("host", "served"), [
    pytest.param("127.0.0.1:{port}", True, id="ipv4-literal"),
    pytest.param("127.0.0.2:{port}", True, id="other-loopback-literal"),
    pytest.param("localhost:{port}", True, id="localhost"),
    pytest.param("LocalHost:{port}", True, id="localhost-any-case"),
    pytest.param("[::1]:{port}", True, id="ipv6-literal"),
    pytest.param("127.attacker.example:{port}", False, id="name-starting-127"),
    pytest.param("127.0.0.1.nip.io:{port}", False, id="wildcard-dns"),
    pytest.param("localhost.attacker.example:{port}", False, id="localhost-prefix"),
    pytest.param("evil.example:{port}", False, id="other-site"),
    pytest.param("127.0.0.1:1", False, id="other-port"),
    pytest.param("127.0.0.1", False, id="no-port"),
    pytest.param("[::1]", False, id="ipv6-no-port"),
    pytest.param("10.0.0.1:{port}", False, id="private-address"),
    pytest.param("", False, id="empty"),
])
def test_only_loopback_host_names_with_the_port_are_served(
        collector: LocalCollector, host: str, served: bool) -> None:
    header = host.format(port=collector.port)
    for path in ("/api/logs", "/api/summary", "/"):
        connection = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=5)
        connection.putrequest("GET", path, skip_host=True)
        if header:
            connection.putheader("Host", header)
        connection.endheaders()
        status = connection.getresponse().status
        connection.close()
        assert status == (200 if served else 403), (path, header)


@pytest.mark.parametrize(("header", "port", "expected"), [
    pytest.param("127.0.0.1:80", 80, True, id="port-80-explicit"),
    pytest.param("127.0.0.1", 80, True, id="port-80-implied"),
    pytest.param("[::1", 8001, False, id="unclosed-bracket"),
    pytest.param("127.1:8001", 8001, False, id="short-form"),
    pytest.param("[::ffff:8.8.8.8]:8001", 8001, False, id="mapped-public"),
    pytest.param("127.0.0.1:8001:8001", 8001, False, id="two-ports"),
])
def test_loopback_host_edges(header: str, port: int, expected: bool) -> None:
    assert loopback_host(header, port) is expected


# -- the HAR file ------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_har_file_is_readable_by_the_owner_only(tmp_path: Path) -> None:
    fresh = tmp_path / "new.har"
    har = HarFile(fresh)
    assert _mode(fresh) == 0o600
    har.append([valid_log()["request"]["log"]["entries"][0]])
    assert _mode(fresh) == 0o600
    shared = tmp_path / "shared.har"
    shared.write_text('{"log": {"version": "1.2", "entries": []}}')
    shared.chmod(0o644)
    HarFile(shared, fresh=False)
    assert _mode(shared) == 0o600  # it is about to hold request data


def test_continuing_a_browser_har_keeps_its_pages_browser_and_comment(tmp_path: Path) -> None:
    path = tmp_path / "devtools.har"
    entry = valid_log("from-the-browser")["request"]["log"]["entries"][0]
    entry["pageref"] = "page_1"
    browser_log = {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "browser": {"name": "Chromium", "version": "131"},
        "pages": [{"startedDateTime": "2026-11-21T10:31:43.123Z", "id": "page_1",
                   "title": "http://shop.test/", "pageTimings": {"onLoad": 120}}],
        "comment": "exported from devtools",
        "entries": [entry],
    }
    path.write_text(json.dumps({"log": browser_log}))
    running = LocalCollector("127.0.0.1", 0, har_path=path, fresh_har=False).start()
    try:
        answer = requests.post(running.url + "/v1/request", json=[valid_log("new")], timeout=5)
        assert answer.status_code == 202
        # The browser's entry is on the dashboard too, with a link of its own.
        rows = requests.get(running.url + "/api/logs", timeout=5).json()["logs"]
        assert [row["caller"] for row in rows] == ["new", ""]
        shown = requests.get(f"{running.url}/api/logs/{rows[1]['id']}", timeout=5).json()
        assert shown["entry"]["request"]["url"] == entry["request"]["url"]
    finally:
        running.stop()
    document = json.loads(path.read_text())
    har_validator().validate(document)
    log = document["log"]
    for key in ("creator", "browser", "pages", "comment"):
        assert log[key] == browser_log[key], key
    assert len(log["entries"]) == 2 and log["entries"][0] == entry


def _dead_pid() -> int:
    for pid in range(4_000_000, 3_000_000, -7919):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            continue
    pytest.skip("no free process id found")


def test_copies_left_by_a_killed_collector_are_removed_at_start(tmp_path: Path) -> None:
    har = tmp_path / "calls.har"
    HarFile(har).append([valid_log()["request"]["log"]["entries"][0]])
    left = tmp_path / f".calls.har.{_dead_pid()}.tmp"
    left.write_bytes(har.read_bytes() * 50)  # a full-size copy, as a SIGKILL leaves it
    live = tmp_path / f".calls.har.{os.getppid()}.tmp"  # a running process may be writing
    live.write_bytes(b"in use")
    other = tmp_path / ".notes.har.1.tmp"  # another file's copy
    other.write_bytes(b"not ours")
    with CommandProcess("collect", "--port", "0", "--har", str(har), cwd=tmp_path) as proc:
        proc.wait_for(LISTENING)
        proc.wait_for(rf"removed {left.name}, a copy left by a collector that was killed")
        assert not left.exists()
        assert live.exists() and other.exists()
    assert len(json.loads(har.read_text())["log"]["entries"]) == 1


# -- hostile bodies and retries ----------------------------------------------------------


def test_a_body_nested_100000_deep_gets_400_on_a_live_connection(
        collector: LocalCollector) -> None:
    depth = 100_000
    connection = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=10)
    try:
        for body in (b"[" * depth + b"]" * depth,
                     b'[{"_id": ' + b"[" * depth + b"]" * depth + b"}]"):
            connection.request("POST", "/v1/request", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 400
            assert answer["invalid"][0]["problems"] == ["body: nested too deeply to be a log"]
        # The same connection still serves: the handler thread did not die.
        connection.request("POST", "/v1/request", body=json.dumps([valid_log()]),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 202 and json.loads(response.read()) == {"accepted": 1}
    finally:
        connection.close()
    assert collector.receiver.refused == 2


def _batch(count: int) -> list[dict[str, Any]]:
    template = valid_log("bulk")
    batch = []
    for _ in range(count):
        log = dict(template)
        log["_id"] = str(uuid.uuid4())
        batch.append(log)
    return batch


def test_a_retried_batch_larger_than_keep_is_not_accepted_again(
        collector: LocalCollector) -> None:
    """--keep bounds the dashboard's memory, not the ids that recognise a retry."""
    batch = _batch(10_000)
    body = json.dumps(batch)
    headers = {"Content-Type": "application/json"}
    first = requests.post(collector.url + "/v1/request", data=body, headers=headers, timeout=60)
    assert first.json() == {"accepted": 10_000}
    again = requests.post(collector.url + "/v1/request", data=body, headers=headers, timeout=60)
    assert again.json() == {"accepted": 0, "duplicates": 10_000}
    assert collector.har is not None and collector.har.count == 10_000
    assert collector.store.summary()["kept"] == 1000


def test_a_retry_after_other_batches_is_still_recognised(tmp_path: Path) -> None:
    """Ids are remembered far beyond --keep and beyond the batch just received."""
    running = LocalCollector("127.0.0.1", 0, har_path=tmp_path / "r.har", keep=10).start()
    try:
        first = _batch(50)
        assert _post_json(running, first) == {"accepted": 50}
        for _ in range(30):
            assert _post_json(running, _batch(50)) == {"accepted": 50}
        assert _post_json(running, first) == {"accepted": 0, "duplicates": 50}
    finally:
        running.stop()


def _post_json(running: LocalCollector, logs: list[dict[str, Any]]) -> Any:
    return requests.post(running.url + "/v1/request", json=logs, timeout=10).json()


def test_ids_in_a_continued_file_count_as_received(tmp_path: Path) -> None:
    path = tmp_path / "kept.har"
    log = valid_log("before-restart")
    for expected in ({"accepted": 1}, {"accepted": 0, "duplicates": 1}):
        running = LocalCollector("127.0.0.1", 0, har_path=path, fresh_har=False).start()
        try:
            assert requests.post(running.url + "/v1/request", json=[log],
                                 timeout=5).json() == expected
        finally:
            running.stop()


# -- one write per answer, no Nagle ------------------------------------------------------


class _CountingSocket(socket.socket):
    """The accepted socket, counting what the handler sends through it."""

    def __init__(self, accepted: socket.socket, writes: list[int]) -> None:
        super().__init__(accepted.family, accepted.type, accepted.proto,
                         fileno=accepted.detach())
        self.writes = writes

    def send(self, data: Any, *args: Any) -> int:
        self.writes.append(len(data))
        return super().send(data, *args)

    def sendall(self, data: Any, *args: Any) -> None:
        self.writes.append(len(data))
        super().sendall(data, *args)


def test_each_answer_is_one_write_on_a_socket_without_nagle(tmp_path: Path) -> None:
    running = LocalCollector("127.0.0.1", 0, har_path=tmp_path / "w.har")
    writes: list[int] = []
    sockets: list[socket.socket] = []
    accept = running.server.get_request

    def counted() -> tuple[socket.socket, Any]:
        accepted, address = accept()
        wrapped = _CountingSocket(accepted, writes)
        sockets.append(wrapped)
        return wrapped, address

    running.server.get_request = counted  # type: ignore[method-assign]
    running.start()
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
    try:
        for batch in range(3):  # one pooled connection, as the middleware's
            writes.clear()
            connection.request("POST", "/v1/request", body=json.dumps([valid_log()]),
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 202 and response.read()
            assert len(writes) == 1, (batch, writes)
        assert sockets[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert len(sockets) == 1  # kept alive
    finally:
        connection.close()
        running.stop()


# -- the dashboard's clear button ------------------------------------------------------


@pytest.mark.parametrize(("origin", "status"), [
    pytest.param(None, 200, id="no-origin"),
    pytest.param("http://127.0.0.1:{port}", 200, id="same-origin"),
    pytest.param("http://evil.example", 403, id="other-site"),
    pytest.param("http://localhost:{port}", 403, id="other-origin-same-machine"),
])
def test_only_the_dashboard_itself_can_clear_it(
        collector: LocalCollector, origin: str | None, status: int) -> None:
    assert requests.post(collector.url + "/v1/request", json=[valid_log()],
                         timeout=5).status_code == 202
    headers = {"Origin": origin.format(port=collector.port)} if origin else {}
    answer = requests.delete(collector.url + "/api/logs", headers=headers, timeout=5)
    assert answer.status_code == status
    kept = requests.get(collector.url + "/api/logs", timeout=5).json()
    assert (len(kept["logs"]) == 0) is (status == 200)
    assert kept["generation"] == (1 if status == 200 else 0)
    assert collector.har is not None and collector.har.count == 1  # the file keeps all
