"""review130: a hostile read of hostile38 (base64 archives in a text).

1. An archive's base64 wrapped at a width that is no multiple of 4 (75, 70, 63) or
   under 16 characters (8, 12, 15): ``base64 -d`` reads it whole (it skips line breaks),
   but a run went on over a break only after a line of at least 16 characters holding
   whole quanta. The first line was read alone (or none was, under 16 characters) and
   the lines after it, the ``.env`` inside a stored zip among them, went out as sent.
2. A zlib stream's base64 after a prefix's ``_`` or ``-`` (``backup_eJ...``), as
   hostile38 reads ``backup_UEsDB...``: sent.
3. HTML's character references for ``+``, ``/``, ``=`` (mustache.js, Go's html/template,
   ESAPI) cut a run at the first; the rest was sent.
4. A run of escapes (``H4sI%2B`` repeated) took 41.8x its text at the peak: one regex
   match whose repeated group ``re`` kept a state for at each escape.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
import zlib
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import inflation_budget
from readme_metrics.har.base64_runs import archives_hidden
from readme_metrics.har.redaction import Redactor
from tests.support.sent_bodies import bodies_logged
from tests.support.zip_bodies import entry
from tests.test_hostile31_findings import ENV
from tests.test_hostile38_findings import _every_place_hides

DENY = Redactor(["password"])
PROSE = b"The monkey presses a key on the keyboard.\n" * 20


@pytest.fixture(autouse=True)
def full_budget() -> None:
    inflation_budget.BUDGET.refill()


def _stored_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(entry(name, archive), data)
    return out.getvalue()


ARCHIVES = {"stored-zip": _stored_zip({".env": ENV}), "gzip": gzip.compress(ENV, mtime=0)}


def _wrapped(data: bytes, width: int, sep: str = "\n") -> tuple[str, list[str]]:
    text = base64.b64encode(data).decode()
    lines = [text[at:at + width] for at in range(0, len(text), width)]
    return sep.join(lines), lines


def _lines_sent(lines: list[str], body: str, mime: str) -> list[str]:
    """The lines of the block (but its last, a few characters) found in what was sent."""
    sent = "".join(bodies_logged(body.encode(), mime))
    return [line for line in lines[:-1] if line in sent]


# 1. wrapped at any width ----------------------------------------------------------------

WIDTHS = [8, 12, 15, 63, 70, 75]


@pytest.mark.parametrize("archive", sorted(ARCHIVES))
@pytest.mark.parametrize("width", WIDTHS)
def test_an_archive_wrapped_at_any_width_is_hidden(width: int, archive: str) -> None:
    """Failed before: 10 of 12 (the gzip at 70 and 75 was hidden by its first line)."""
    block, lines = _wrapped(ARCHIVES[archive], width)
    for body, mime in ((f"backup:\n{block}\n", "text/plain"),
                       (f"<f>\n{block}</f>", "application/xml"),
                       (f"file: |\n  {block.replace(chr(10), chr(10) + '  ')}\n",
                        "application/yaml"),
                       (urlencode({"f": block}), "application/x-www-form-urlencoded"),
                       (json.dumps({"f": block}), "application/json")):
        assert _lines_sent(lines, body, mime) == [], mime


@pytest.mark.parametrize("width", WIDTHS)
def test_guard_a_zip_of_prose_wrapped_so_is_kept(width: int) -> None:
    block, _ = _wrapped(_stored_zip({"notes.md": PROSE}), width)
    body = f"backup:\n{block}\nThanks, Ada.\n"
    assert bodies_logged(body.encode(), "text/plain") == [body, body]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(ARCHIVES)), st.integers(1, 90), st.sampled_from(["\n", "\r\n"]),
       st.sampled_from(["", " ", "  "]))
def test_any_wrapping_is_hidden(archive: str, width: int, sep: str, indent: str) -> None:
    inflation_budget.BUDGET.refill()
    block, lines = _wrapped(ARCHIVES[archive], width, sep + indent)
    out = archives_hidden(DENY, f"data:{sep}{indent}{block}{sep}end{sep}")
    assert [line for line in lines[:-1] if len(line) >= 8 and line in out] == []


def test_short_lines_of_magics_are_bounded_in_memory() -> None:
    """Lines wrapped short now join one run: ``H4sIA`` lines (a magic on each, at every
    alignment) stay a few copies of the text at the peak (a MiB: 6.2x; 64 KiB here, as
    tracemalloc is slow: 6.8x and 6.5x). Failed before the blanks were replaced, not
    split: 14.1x a MiB; with the split put back, 14.8x and 9.1x at 64 KiB (suite41)."""
    from tests.support.memory import peak_bytes

    for unit in ("H4sIA\n", "H4sIAAAAAAAA\nA\n"):
        text = unit * ((1 << 16) // len(unit))
        inflation_budget.BUDGET.refill()
        peak = peak_bytes(lambda: archives_hidden(DENY, text))  # noqa: B023
        assert peak < 8 * len(text), (unit, peak)


# 2. a zlib stream's base64 after a prefix's "_" or "-" ----------------------------------

ZLIB_AFTER = {
    "underscore": lambda s: "backup_" + s,
    "dash": lambda s: "backup-" + s,
    "urlsafe-underscore": lambda s: "sess_" + s.replace("+", "-").replace("/", "_"),
}


@pytest.mark.parametrize("level", [6, 9])
@pytest.mark.parametrize("shape", sorted(ZLIB_AFTER))
def test_a_zlib_streams_base64_after_a_prefix(shape: str, level: int) -> None:
    """``backup_eJ...``, as hostile38's ``backup_UEsDB...``: a zlib stream's start was
    read only after no base64 character, and ``_``, ``-`` are the URL-safe alphabet's.
    Failed before: 6 of 6 (sent in every place)."""
    value = ZLIB_AFTER[shape](base64.b64encode(zlib.compress(ENV, level)).decode())
    assert _every_place_hides(value) == []


@pytest.mark.parametrize("word", ["snake_eJxSomeIdentifierName", "x-eJyUser-agent-string",
                                  "my_eNameOfSomething_long"])
def test_guard_identifiers_with_ej_are_kept(word: str) -> None:
    body = f"name: {word}\n"
    assert bodies_logged(body.encode(), "text/plain") == [body, body]
    inflation_budget.BUDGET.refill()
    encoded = base64.b64encode(zlib.compress(PROSE)).decode().join(["k_", "\n"]).encode()
    assert bodies_logged(encoded, "text/plain")[0].startswith("k_eJ")


# 3. HTML's character references for "+", "/", "=" --------------------------------------

REFERENCES = {
    "mustache.js": {"/": "&#x2F;", "=": "&#x3D;"},
    "go-html-template": {"+": "&#43;"},
    "esapi": {"+": "&#x2b;", "/": "&#x2f;", "=": "&#x3d;"},
    "decimal": {"+": "&#43;", "/": "&#47;", "=": "&#61;"},
}


@pytest.mark.parametrize("archive", sorted(ARCHIVES))
@pytest.mark.parametrize("encoder", sorted(REFERENCES))
def test_an_archive_with_html_character_references(encoder: str, archive: str) -> None:
    """An HTML page rendered by mustache.js (``/`` as ``&#x2F;``), Go's html/template
    (``+`` as ``&#43;``) or ESAPI: the run stopped at the first reference, the rest sent
    (a browser shows, and ``base64 -d`` then reads, the archive). Failed before: 8 of 8."""
    text = base64.b64encode(ARCHIVES[archive]).decode()
    written = "".join(REFERENCES[encoder].get(character, character) for character in text)
    for mime in ("text/html", "application/xml", "text/plain"):
        body = f"<p>Your backup: <code>{written}</code></p>"
        sent = "".join(bodies_logged(body.encode(), mime))
        pieces = [piece for piece in written.replace("&", "\n&").replace(";", ";\n").split()
                  if len(piece) >= 8 and not piece.startswith("&")]
        assert [piece for piece in pieces if piece in sent] == [], mime


def test_guard_html_of_prose_zipped_with_references_is_kept() -> None:
    text = base64.b64encode(_stored_zip({"notes.md": PROSE})).decode()
    body = "<p>" + text.replace("/", "&#x2F;").replace("+", "&#43;") + " &amp; more</p>"
    assert bodies_logged(body.encode(), "text/html") == [body, body]


# 4. a run of escapes: the regex's memory -----------------------------------------------

@pytest.mark.parametrize("unit", ["H4sI%2B", "H4sI\\/", "H4sI\\u002B", "H4sI&#43;",
                                  "UEsDBA%3D", "H4sIAAAA" + "=" * 8])
def test_a_run_of_escapes_is_bounded_in_memory(unit: str) -> None:
    """A run's line was one regex match whose group repeated once an escape (``%2B``,
    ``\\/``, ``\\u002B``): ``re`` keeps each repetition's state, 41.8x a text of
    ``H4sI%2B`` at the peak (33.8x ``\\/``, 21.5x ``\\u002B``; 256 KiB, hostile38's).
    Now matched in bounded steps. Failed before: 4 of 6. A text of 64 KiB (suite41: a
    quarter of the CPU under tracemalloc): 4.4x to 6.0x now, 22.5x to 35.3x for those four
    with one match again (``_STEP`` unbounded)."""
    from tests.support.memory import peak_bytes

    text = unit * ((1 << 16) // len(unit))
    inflation_budget.BUDGET.refill()
    peak = peak_bytes(lambda: archives_hidden(DENY, text))
    assert peak < 8 * len(text), (unit, peak / len(text))
