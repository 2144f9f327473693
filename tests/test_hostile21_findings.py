"""hostile21: bodies in ``br`` and ``zstd``.

Before, a body in brotli or zstd could not be undone: with a list it was redacted whole,
without one it went out as base64 of the compressed bytes, the caller's api_key in it
(SPEC 6: never in clear) readable by anyone who decompressed it. Now such a body is
decompressed as gzip is (bounded: at most ``max_body_bytes`` out, a stream cut short
gives what it holds) when ``brotli``/``brotlicffi`` or ``compression.zstd``/
``backports.zstd``/``zstandard`` is installed, and redacted whole, lists or none, when
it still cannot be read (no module for it, corrupt data): its comment says what to
install. Cases that need a module skip without it.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import Redactor, build_log, coding_engines
from readme_metrics.har.compression import Decoded, decompress
from readme_metrics.masking import mask
from tests.support.exchanges import body_on, entry_of
from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.support.processes import run_command
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import raw_answer, serve, server_env
from tests.test_har_credentials import _strings

try:
    import brotli
except ImportError:  # pragma: no cover - the test extra installs it
    brotli = None  # type: ignore[assignment]
try:
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None  # type: ignore[assignment]

KEY = "rdme_hostile21_caller_key_8c1f"
SECRET = "hunter2-hostile21"
DENY = Redactor(["password"])
DOC = json.dumps({"user": "owlbert", "api_key": KEY, "password": SECRET, "n": list(range(40))}
                 ).encode()

needs_brotli = pytest.mark.skipif(coding_engines.engine("br") is None,
                                  reason="no brotli module bounding its output installed")
needs_zstd = pytest.mark.skipif(coding_engines.engine("zstd") is None or zstandard is None,
                                reason="no zstd module installed (zstandard, backports.zstd)")


def _br(data: bytes) -> bytes:
    return bytes(brotli.compress(data))


def _zstd(data: bytes) -> bytes:
    return bytes(zstandard.ZstdCompressor().compress(data))


CODERS: dict[str, Callable[[bytes], bytes]] = {"br": _br, "zstd": _zstd}
NEEDS = {"br": needs_brotli, "zstd": needs_zstd}
CODINGS = [pytest.param(coding, marks=NEEDS[coding], id=coding) for coding in CODERS]


def _exchange(side: str, coding: str, body: bytes, size: Optional[int] = None) -> Any:
    headers = [("Content-Type", "application/json"), ("Content-Encoding", coding)]
    exchange = body_on(side, headers, body, size)
    exchange.group = Group(KEY, "Owlbert")
    return exchange


def _recorded(entry: dict[str, Any], side: str) -> dict[str, Any]:
    recorded: dict[str, Any] = (entry["request"]["postData"] if side == "request"
                                else entry["response"]["content"])
    return recorded


def _readable_copies(log: Any) -> Iterator[bytes]:
    """Every string of the log, and what its base64 decompresses to (whatever coding)."""
    for text in _strings(log):
        yield text.encode("utf-8")
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError:
            continue
        yield raw
        for undo in (_unbr, _unzstd, gzip.decompress):
            try:
                yield undo(raw)
            except Exception:  # noqa: BLE001 - not in that coding
                pass


def _unbr(raw: bytes) -> bytes:
    """What a brotli stream holds, cut short or not."""
    return bytes(brotli.Decompressor().process(raw)) if brotli is not None else b""


def _unzstd(raw: bytes) -> bytes:
    """What a zstd stream holds, cut short or not."""
    if zstandard is None:
        return b""
    return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(raw))


def _leaks(log: Any, *secrets: str) -> list[str]:
    return [secret for secret in secrets for copy in _readable_copies(log)
            if secret.encode() in copy]


# -- decoded, with a list and without --------------------------------------------------


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("side", ["request", "response"])
@pytest.mark.parametrize("lists", [None, DENY], ids=["no-lists", "denylist"])
def test_a_br_or_zstd_body_is_decoded_and_the_key_masked(
        coding: str, side: str, lists: Optional[Redactor]) -> None:
    """Before: without lists, base64 of the compressed bytes (the key and the password
    readable by decompressing them); with a denylist, ``[REDACTED]`` whole."""
    exchange = _exchange(side, coding, CODERS[coding](DOC))
    log = json.loads(json.dumps(build_log(exchange, redactor=lists)))
    assert_valid_log(log)
    recorded = _recorded(log["request"]["log"]["entries"][0], side)
    assert "encoding" not in recorded
    assert recorded["comment"] == f"decompressed from Content-Encoding {coding}"
    doc = json.loads(recorded["text"])
    assert doc["api_key"] == mask(KEY) and doc["user"] == "owlbert"
    assert doc["password"] == (SECRET if lists is None else f"[REDACTED {len(SECRET)}]")
    assert _leaks(log, KEY) == []


@needs_brotli
def test_br_over_gzip_is_undone_both() -> None:
    """``Content-Encoding: br, gzip``: brotli applied first, then gzip."""
    exchange = _exchange("request", "br, gzip", gzip.compress(_br(DOC)))
    recorded = _recorded(entry_of(exchange, redactor=DENY), "request")
    assert recorded["comment"] == "decompressed from Content-Encoding br, gzip"
    assert json.loads(recorded["text"])["password"] == f"[REDACTED {len(SECRET)}]"
    # And the other way round, as a proxy gzipping a brotli answer would not, but may.
    assert decompress(_br(gzip.compress(DOC)), "gzip, br", 10_000).body == DOC  # type: ignore[union-attr]


@pytest.mark.parametrize("coding", CODINGS)
def test_concatenated_and_trailing(coding: str) -> None:
    """zstd frames one after another are one body (RFC 8878), as gzip members are;
    brotli has no such framing: data after its end is corrupt."""
    twice = CODERS[coding](DOC[:50]) + CODERS[coding](DOC[50:])
    decoded = decompress(twice, coding, 10_000)
    if coding == "zstd":
        assert decoded is not None and decoded.body == DOC and not decoded.truncated
    else:
        assert decoded is None


# -- cut short, bombs, corrupt ------------------------------------------------------------


@pytest.mark.parametrize("coding", CODINGS)
def test_a_cut_stream_yields_what_it_holds(coding: str) -> None:
    """A body cut short (the capture kept its first bytes): the prefix it holds, said
    truncated; with a denylist a JSON cut short is redacted whole, as gzip's is."""
    # (Past a zstd block, 128 KiB, that does not compress: a zstd decoder gives no part
    # of a block.)
    big = json.dumps({"password": SECRET, "api_key": KEY,
                      "text": random.Random(21).randbytes(300_000).hex()}).encode()
    data = CODERS[coding](big)
    cut = data[: len(data) // 2]
    decoded = decompress(cut, coding, 1 << 20)
    assert decoded is not None and big.startswith(decoded.body)
    assert len(decoded.body) > len(b'{"password": "') + len(SECRET)
    if coding == "br":  # (the zstandard package cannot tell a cut stream from a whole one)
        assert decoded.truncated
    exchange = _exchange("response", coding, cut, size=len(data))
    log = json.loads(json.dumps(build_log(exchange, redactor=DENY, max_body_bytes=len(cut))))
    recorded = _recorded(log["request"]["log"]["entries"][0], "response")
    assert recorded["text"].startswith("[REDACTED") and "redacted whole" in recorded["comment"]
    assert _leaks(log, KEY, SECRET) == []
    plain = json.loads(json.dumps(build_log(exchange, max_body_bytes=len(cut))))
    text = _recorded(plain["request"]["log"]["entries"][0], "response")["text"]
    assert text.startswith('{"password": "' + SECRET) and _leaks(plain, KEY) == []


_BOMB = 256 << 20  # what the bomb inflates to, whole


def _bomb(coding: str) -> bytes:
    """``_BOMB`` zero bytes, compressed a MiB at a time (no 256 MiB in this process)."""
    zeros = bytes(1 << 20)
    if coding == "br":
        compressor = brotli.Compressor(quality=5)
        parts = [compressor.process(zeros) for _ in range(_BOMB >> 20)]
        return b"".join(parts) + compressor.finish()
    writer = zstandard.ZstdCompressor(level=3).compressobj(size=_BOMB)
    return b"".join(writer.compress(zeros) for _ in range(_BOMB >> 20)) + writer.flush()


_MEMORY = """
import resource, sys
from pathlib import Path
data = Path(sys.argv[1]).read_bytes()
from readme_metrics.har.compression import Decoded, decompress
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
decoded = decompress(data, sys.argv[2], int(sys.argv[3]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(decoded.body), decoded.truncated, (after - before) * 1024)
"""


@pytest.mark.parametrize("coding", CODINGS)
def test_a_bomb_costs_the_output_bound(coding: str, tmp_path: Path) -> None:
    """256 MiB of zeros in under 1 MiB (brotli: some 400 bytes): ``max_body_bytes``
    (1 MiB) comes out, and the decoding process grows by less than 64 MiB, not by the
    256 MiB the bomb holds (measured for a 1 GiB bomb: 8 MiB for brotli, whose window is
    16 MiB at most, 3.3 MiB for zstd, whose window is 8 MiB at most here)."""
    bomb = _bomb(coding)
    assert len(bomb) < 1 << 20
    path = tmp_path / "bomb"
    path.write_bytes(bomb)
    out = run_command([sys.executable, "-c", _MEMORY, str(path), coding, str(1 << 20)],
                      capture_output=True, text=True, check=True,
                      cwd=Path(__file__).parent.parent).stdout.split()
    assert out[:2] == [str(1 << 20), "True"]
    assert int(out[2]) < 64 << 20


@needs_zstd
def test_a_zstd_frame_asking_for_a_window_beyond_8_mib_is_unreadable() -> None:
    """RFC 9659's bound: a frame whose header asks for a 128 MiB window would have the
    decoder allocate it (whatever its output bound); it is unreadable, so redacted."""
    assert decompress(_windowed(27, DOC), "zstd", 10_000) is None
    assert decompress(_windowed(23, DOC), "zstd", 10_000) is not None


def _windowed(log: int, data: bytes) -> bytes:
    """``data`` in a zstd frame with no content size, whose window is ``2**log`` bytes."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=log)
    writer = zstandard.ZstdCompressor(compression_params=params).compressobj()
    return bytes(writer.compress(data) + writer.flush())


def _zstd_engines() -> Iterator[Any]:
    for name in ("compression.zstd", "backports.zstd"):
        module = coding_engines._module(name)
        if module is not None:
            yield pytest.param(coding_engines.stdlib_zstd(module), id=name)
            break
    if zstandard is not None:
        yield pytest.param(coding_engines.zstandard(zstandard), id="zstandard")


@pytest.mark.skipif(zstandard is None, reason="zstandard is not installed")
@pytest.mark.parametrize("engine", list(_zstd_engines()))
def test_each_zstd_module(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever module is chosen: decoded, frames one after another, the output bound
    (a 256 MiB bomb gives 1 MiB), a window beyond 8 MiB unreadable, corrupt data too."""
    monkeypatch.setitem(coding_engines._FINDERS, "zstd", lambda: engine)
    coding_engines.engine.cache_clear()
    try:
        assert decompress(_zstd(DOC), "zstd", 10_000) == Decoded(DOC, "zstd", False)
        assert decompress(_zstd(DOC[:9]) + _zstd(DOC[9:]), "zstd", 10_000).body == DOC  # type: ignore[union-attr]
        assert decompress(_bomb("zstd"), "zstd", 1 << 20) == Decoded(bytes(1 << 20), "zstd",
                                                                     True)
        assert decompress(_zstd(DOC), "zstd", 10) == Decoded(DOC[:10], "zstd", True)
        assert decompress(_windowed(27, DOC), "zstd", 10_000) is None
        assert decompress(b"\xff" * 30, "zstd", 10_000) is None
    finally:
        coding_engines.engine.cache_clear()


def _brotli_engines() -> Iterator[Any]:
    for name in ("brotli", "brotlicffi"):
        module = coding_engines._module(name)
        if module is not None and coding_engines.brotli(module) is not None:
            yield pytest.param(coding_engines.brotli(module), id=name)


@needs_brotli
@pytest.mark.parametrize("engine", list(_brotli_engines()))
def test_each_brotli_module(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever module is chosen: decoded, the output bound (a 256 MiB bomb gives
    1 MiB), a stream cut short gives what it holds, corrupt data and data after the end
    are unreadable."""
    monkeypatch.setitem(coding_engines._FINDERS, "br", lambda: engine)
    coding_engines.engine.cache_clear()
    try:
        assert decompress(_br(DOC), "br", 10_000) == Decoded(DOC, "br", False)
        assert decompress(_bomb("br"), "br", 1 << 20) == Decoded(bytes(1 << 20), "br", True)
        assert decompress(_br(DOC), "br", 10) == Decoded(DOC[:10], "br", True)
        cut = decompress(_br(DOC)[:-4], "br", 10_000)
        assert cut is not None and cut.truncated and DOC.startswith(cut.body)
        assert decompress(_br(DOC) + b"x", "br", 10_000) is None
        assert decompress(b"\xff" * 30, "br", 10_000) is None
    finally:
        coding_engines.engine.cache_clear()


@pytest.mark.parametrize("coding", ["br", "zstd"])
@pytest.mark.parametrize("lists", [None, DENY], ids=["no-lists", "denylist"])
def test_an_unreadable_body_is_redacted_whole_lists_or_none(
        coding: str, lists: Optional[Redactor]) -> None:
    """Corrupt data in a coding (or one no module here reads): nothing in it can be
    checked for the caller's key, so it is redacted whole without lists too. Before:
    base64 of the bytes without lists."""
    exchange = _exchange("request", coding, b"\xff\xfe\xfd" * 10 + KEY.encode())
    recorded = _recorded(entry_of(exchange, redactor=lists), "request")
    assert recorded["text"] == "[REDACTED]" and "encoding" not in recorded
    assert recorded["comment"].startswith("body could not be decoded, so it was redacted whole")


@pytest.mark.parametrize(("coding", "module"), [("br", "brotli"), ("zstd", "zstandard")])
def test_without_the_module_the_body_is_redacted_and_says_what_to_install(
        coding: str, module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No module for the coding (none is a dependency): the body, which may hold the
    caller's key, is redacted whole, and its comment says what to install to see it."""
    monkeypatch.setitem(coding_engines._FINDERS, coding, lambda: None)
    coding_engines.engine.cache_clear()
    try:
        body = b"\x1b\x03\x00\xf8" + DOC  # (any bytes: nothing reads them)
        for lists in (None, DENY):
            log = json.loads(json.dumps(build_log(_exchange("response", coding, body),
                                                  redactor=lists)))
            recorded = _recorded(log["request"]["log"]["entries"][0], "response")
            assert recorded["text"] == "[REDACTED]"
            assert recorded["comment"] == ("body could not be decoded, so it was redacted "
                                           f"whole; install {module} to record such bodies")
    finally:
        coding_engines.engine.cache_clear()


# -- random input ------------------------------------------------------------------------


@pytest.mark.parametrize("coding", CODINGS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(pad=st.text(max_size=300), before=st.booleans(), cut=st.floats(0.1, 1.0),
       side=st.sampled_from(["request", "response"]), deny=st.booleans(),
       limit=st.integers(16, 4096))
def test_the_key_never_readable_in_any_br_or_zstd_body(
        coding: str, pad: str, before: bool, cut: float, side: str, deny: bool,
        limit: int) -> None:
    """Any JSON or text holding the key, compressed, cut anywhere, any max_body_bytes:
    neither its text nor any base64 in the log decompresses to the key. (Text that
    compresses, so that the key is no longer spelled in the compressed bytes: the scrub
    of the log's strings found it there in a stored block.)"""
    text = (pad + " key=" + KEY) if before else (KEY + " " + pad)
    filler = " ".join(map(str, range(60)))
    body = (json.dumps({"note": text, "api_key": KEY, "n": filler}).encode() if deny
            else (text + filler).encode())
    data = CODERS[coding](body)
    data = data[: max(1, int(len(data) * cut))]
    exchange = _exchange(side, coding, data)
    log = json.loads(json.dumps(build_log(exchange, redactor=DENY if deny else None,
                                          max_body_bytes=limit)))
    assert_valid_log(log)
    assert _leaks(log, KEY) == []


# -- under real servers ------------------------------------------------------------------

_SERVERS = {"waitress": WSGI_SERVERS["waitress"],
            "gunicorn-sync": WSGI_SERVERS["gunicorn-sync"],
            "uvicorn": ASGI_SERVERS["uvicorn"]}
_TARGETS = {"uvicorn": "tests.support.hostile21_apps:asgi_app"}


def _request(coding: str, body: bytes) -> bytes:
    return (b"POST /echo HTTP/1.1\r\nHost: localhost\r\n"
            b"X-Api-Key: " + KEY.encode() + b"\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Encoding: " + coding.encode()
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def _served(test: Callable[..., None]) -> Callable[..., None]:
    """A case under a real server, with brotli and zstd, without lists and with one."""
    for mark in (pytest.mark.parametrize("deny", [False, True], ids=["no-lists", "denylist"]),
                 needs_zstd, needs_brotli, pytest.mark.e2e):
        test = mark(test)
    return test


def _env(collector: Collector, deny: bool) -> dict[str, str]:
    return server_env(collector, **({"README_DENYLIST": "password"} if deny else {}))


@_served
@pytest.mark.parametrize("server", list(_SERVERS))
def test_br_and_zstd_bodies_under_each_server(
        server: str, deny: bool, collector: Collector, tmp_path: Path) -> None:
    """The app reads a request body in br, zstd or ``br, gzip`` and answers in the
    client's coding (as Flask-Compress and starlette-compress answer browsers): the
    posted bytes hold neither the key nor, with a denylist, the password; the recorded
    bodies are the JSON sent. Before: base64 of the compressed bytes (without lists)."""
    port = free_port()
    env = _env(collector, deny)
    target = _TARGETS.get(server, "tests.support.hostile21_apps:app")
    bodies = {"br": _br(DOC), "zstd": _zstd(DOC), "br, gzip": gzip.compress(_br(DOC))}
    with serve(_SERVERS[server](port, target), env, tmp_path, port):
        for coding, body in bodies.items():
            answer = raw_answer(port, _request(coding, body))
            assert answer.startswith(b"HTTP/1.1 200")
        logs = collector.wait_for_logs(len(bodies))
    posted = b"".join(r.body for r in collector.received if r.path == "/v1/request")
    assert KEY.encode() not in posted
    assert (SECRET.encode() in posted) is not deny
    for log in logs:
        assert_valid_log(log)
        assert _leaks(log, KEY) == []
        entry = log["request"]["log"]["entries"][0]
        for recorded in (entry["request"]["postData"], entry["response"]["content"]):
            assert "decompressed from Content-Encoding" in recorded["comment"]
            doc = json.loads(recorded["text"])
            assert doc["api_key"] == mask(KEY)
            assert doc["password"] == (f"[REDACTED {len(SECRET)}]" if deny else SECRET)


_COMPRESSING = {
    "flask-compress": ("flask_compress", WSGI_SERVERS["gunicorn-sync"], "flask_app"),
    "starlette-compress": ("starlette_compress", ASGI_SERVERS["uvicorn"], "starlette_app"),
}


@_served
@pytest.mark.parametrize("name", list(_COMPRESSING))
def test_the_answers_of_flask_compress_and_starlette_compress(
        name: str, deny: bool, collector: Collector, tmp_path: Path) -> None:
    """Flask-Compress under gunicorn, starlette-compress under uvicorn, answering a
    browser's ``Accept-Encoding`` (br first; zstd; gzip): each answer's coding undone,
    the key masked in it, the password redacted with a denylist. Before: the br and zstd
    answers went out as base64 (the key readable by decompressing them)."""
    module, argv, target = _COMPRESSING[name]
    pytest.importorskip(module, reason=f"{name} is not installed")
    port = free_port()
    env = _env(collector, deny)
    accepts = ["gzip, deflate, br, zstd", "zstd", "br", "gzip"]
    with serve(argv(port, f"tests.support.hostile21_compress:{target}"), env, tmp_path,
               port):
        codings = []
        for accept in accepts:
            answer = raw_answer(port, (
                f"GET /doc HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: {KEY}\r\n"
                f"Accept-Encoding: {accept}\r\nConnection: close\r\n\r\n").encode())
            head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
            codings.append(head.split("content-encoding: ", 1)[1].split("\r\n", 1)[0])
        logs = collector.wait_for_logs(len(accepts))
    assert set(codings) >= {"br", "zstd", "gzip"}, codings
    posted = b"".join(r.body for r in collector.received if r.path == "/v1/request")
    assert KEY.encode() not in posted
    for log in logs:
        assert_valid_log(log)
        assert _leaks(log, KEY) == []
        content = log["request"]["log"]["entries"][0]["response"]["content"]
        assert content["comment"].startswith("decompressed from Content-Encoding ")
        doc = json.loads(content["text"])
        assert doc["api_key"] == mask(KEY) and doc["n"] == list(range(200))
        assert doc["password"] == ("[REDACTED 17]" if deny else "hunter2-hostile21")
