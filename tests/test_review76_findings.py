"""review76: defects found in the session's change (110fa78..a7ec368).

- asgi9/review75: over uvloop's TLS transport (uvicorn's default loop where uvloop is
  installed, hypercorn's uvloop worker) the one under it is a C attribute, so
  ``socket_reader`` gave the TLS transport, whose ``pause_reading`` leaves the socket
  read: the client's end within the grace dropped the wrapped app's answer, as on
  asyncio before review75. The TLS test's uvloop rows are in
  ``test_review75_findings`` (``test_over_tls_an_end_within_the_grace_gets_the_apps_answer``).
  In-process: ``test_the_socket_under_a_tls_transport_is_paused_on_either_loop``.
- newcomer14: the collector's HAR file told another process's write from the file's
  name (``os.stat``), then opened it: a file replaced between the two was copied and cut
  at this object's remembered offset, the other's entries lost.
- newcomer14: a file that was no HAR file any more when the collector appended
  (another program's written over it, or a HAR being copied over it in place, caught
  half-written) was replaced by the collector's new entries alone, though the docs
  say any other file is never overwritten (and ``cp`` went on into the file replaced:
  its copy lost). It is left as it is now; the entries wait for the next append.
- newcomer14: a grouping module given as a file's full path was named from the
  shallowest-possible ``sys.path`` folder even through a folder that is no identifier
  (``/srv/my-proj/app.py`` under ``/srv``: "e.g. 'my-proj.app:group'", which cannot be
  imported). Such a folder is skipped: the file's own name, its folder on sys.path.
- review75 (next_or_end): the senders' loop calls ``Batcher.next_or_end``;
  ``benchmarks/delivery_thread.py`` and ``gil_share.py`` still timed ``next_batch``,
  which it no longer calls: their "wait for and take a batch" part was gone from the
  report (delivery_thread) or never timed (gil_share).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics._dotted import import_dotted
from readme_metrics.capture.asgi_watch import socket_reader
from readme_metrics.capture.sockets import unread_bytes
from readme_metrics.cli.collector import har_file
from tests.support.command import REPO_ROOT
from tests.support.processes import run_command
from tests.support.tls import make_certificates, server_context
from tests.test_asgi_servers import NO_UVLOOP
from tests.test_newcomer14_findings import _entry


def test_a_har_file_replaced_just_before_it_is_opened_keeps_the_others_entries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two collectors on one file; the second's append lands after the first has
    decided the file is its own and before it opens it. Before: the first copied the
    second's file and cut it at its own offset (entries [0, 1, 3]: 2 lost). Now every
    entry is kept."""
    path = tmp_path / "readme-metrics.har"
    first = har_file.HarFile(path)
    first.append([_entry(0)])
    second = har_file.HarFile(path, fresh=False)
    first.append([_entry(1)])  # continues the second's rewrite: the file is its own again

    def second_appends_unlocked() -> None:
        # A writer that takes no lock (an older collector): one that does waits for the
        # first's lock (test_collector_har_lock), so this interleaving needs one that
        # does not.
        with monkeypatch.context() as unlocked:
            unlocked.setattr(har_file, "_writers_one_at_a_time",
                             lambda directory: contextlib.nullcontext())
            second.append([_entry(2)])

    interleave = [second_appends_unlocked]

    def open_after_the_other(name: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if interleave and Path(name) == path and "r" in mode:
            interleave.pop()()
        return open(name, mode, *args, **kwargs)

    monkeypatch.setattr(har_file, "open", open_after_the_other, raising=False)
    first.append([_entry(3)])
    assert not interleave
    entries = json.loads(path.read_bytes())["log"]["entries"]
    assert [e["time"] for e in entries] == [0, 1, 2, 3]


def test_the_batcher_methods_benchmarks_time_are_those_the_senders_call() -> None:
    """A method a benchmark wraps on the batcher (``batcher.NAME = _timed(...)``) that
    the senders' loop (delivery/core.py and the modules of Delivery's parts since house12:
    sender_threads, closing, inline) never calls times nothing, silently."""
    delivery = REPO_ROOT / "readme_metrics" / "delivery"
    called = {name for part in ("core", "sender_threads", "closing", "inline")
              for name in re.findall(r"batcher\.([a-z_]+)\(",
                                     (delivery / f"{part}.py").read_text())}
    wrapped = {
        (script.name, name)
        for script in (REPO_ROOT / "benchmarks").glob("*.py")
        for name in re.findall(r"^\s*batcher\.([a-z_]+) = _timed\(",
                               script.read_text(), re.M)}
    assert wrapped  # (the pattern still finds them)
    assert sorted(pair for pair in wrapped if pair[1] not in called) == []


def test_delivery_thread_benchmark_reports_the_wait_for_a_batch() -> None:
    """Before: no "wait for and take a batch" part in either variant."""
    done = run_command([sys.executable, str(REPO_ROOT / "benchmarks" / "delivery_thread.py"),
                        "--batches", "20"], capture_output=True, text=True, timeout=120,
                       cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["us_of_delivery_thread_cpu_per_batch_of_10"]
    assert all("wait for and take a batch" in parts for parts in report.values()), report


def _uvloop() -> asyncio.AbstractEventLoop:
    import uvloop

    return uvloop.new_event_loop()  # type: ignore[no-any-return]


def _limits(transport: Any) -> Any:
    """The TLS transport's read buffer limits; None where it has none (asyncio's before
    Python 3.11, whose sslproto reads into no buffer of its own: nothing to put back)."""
    get = getattr(transport, "get_read_buffer_limits", None)
    return None if get is None else get()


@pytest.mark.parametrize("new_loop", [
    pytest.param(asyncio.new_event_loop, id="asyncio"),
    pytest.param(_uvloop, id="uvloop", marks=NO_UVLOOP)])
def test_the_socket_under_a_tls_transport_is_paused_on_either_loop(
        tmp_path: Path, new_loop: Callable[[], asyncio.AbstractEventLoop]) -> None:
    """What the capture pauses (``socket_reader``) leaves what the client sends next in
    the socket (the kernel holds it: FIONREAD), and resumed, the server reads it; the
    TLS transport's read buffer limits are as before. Before, on uvloop: the TLS
    transport itself, whose pause left the socket read (0 bytes left in it)."""
    certificates = make_certificates(tmp_path)
    client_context = ssl.create_default_context(cafile=str(certificates.ca))

    async def main() -> tuple[int, bytes, Any, Any]:
        got = bytearray()
        came = asyncio.Event()
        transports: list[Any] = []

        class Server(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                transports.append(transport)

            def data_received(self, data: bytes) -> None:
                got.extend(data)
                came.set()

        loop = asyncio.get_running_loop()
        server = await loop.create_server(Server, "127.0.0.1", 0,
                                          ssl=server_context(certificates))
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context,
                                                  server_hostname="localhost")
        try:
            writer.write(b"first")
            await asyncio.wait_for(came.wait(), 10)
            came.clear()
            transport = transports[0]
            limits = _limits(transport)
            reader = socket_reader(transport)
            reader.pause_reading()
            writer.write(b"second")
            await writer.drain()
            sock = transport.get_extra_info("socket")
            for _ in range(200):  # until the bytes are in the server's socket
                if unread_bytes(sock.fileno()) or came.is_set():
                    break
                await asyncio.sleep(0.01)
            for _ in range(5):  # turns of the loop, which would read them now
                await asyncio.sleep(0.01)
            left = unread_bytes(sock.fileno())
            reader.resume_reading()
            while bytes(got) != b"firstsecond":
                await asyncio.wait_for(came.wait(), 10)
                came.clear()
            return left, bytes(got), limits, _limits(transport)
        finally:
            writer.close()
            server.close()

    loop = new_loop()
    try:
        left, got, limits, after = loop.run_until_complete(main())
    finally:
        loop.close()
    assert left > 0  # the ciphertext of "second", unread while paused
    assert got == b"firstsecond"
    assert after == limits


def test_a_file_path_through_a_folder_no_module_can_be_named_from_names_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my-proj").mkdir()
    (tmp_path / "my-proj" / "review76_app.py").write_text(
        "def group(request):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as caught:
        import_dotted(f"{tmp_path}/my-proj/review76_app.py:group")
    message = str(caught.value)
    # before: "e.g. 'my-proj.review76_app:group'"
    assert "my-proj." not in message, message
    assert "e.g. 'review76_app:group'" in message, message
    assert f"({tmp_path}/my-proj)" in message, message
    monkeypatch.syspath_prepend(str(tmp_path / "my-proj"))  # as the message says
    try:
        assert callable(import_dotted("review76_app:group"))
    finally:
        sys.modules.pop("review76_app", None)


def test_a_file_that_is_no_har_file_any_more_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "readme-metrics.har"
    collector = har_file.HarFile(path)
    collector.append([_entry(0)])
    whole = har_file.HarFile(tmp_path / "saved.har")
    whole.append([_entry(10), _entry(11)])
    copied = (tmp_path / "saved.har").read_bytes()
    path.write_bytes(copied[:len(copied) // 2])  # `cp saved.har readme-metrics.har`, halfway
    collector.append([_entry(1)])
    assert path.read_bytes() == copied[:len(copied) // 2]  # before: [1] written over it
    assert collector.held == [_entry(1)]
    path.write_bytes(copied)  # the copy done
    collector.append([_entry(2)])
    entries = json.loads(path.read_bytes())["log"]["entries"]
    assert [e["time"] for e in entries] == [10, 11, 1, 2]
    assert collector.held == [] and collector.count == 4
