"""hostile44: base64 in groups spelled the ways decoders still read it (review135).

hostile41 joined groups of whole quanta parted by one blank or a ``.``. Python's
``b64decode`` (validate=False: the app's own) skips any character outside its alphabet,
as do Node's ``Buffer`` and ``base64 -d -i``: a tab, a double blank, ``-``, ``,``, ``:``,
``|``, ``_``, ``;`` between groups of four, and groups of 5, 6 or 10 characters, each
still sent a zip's, a gzip's or a zlib stream's ``.env`` as written (text, form, query,
zip entry, binary; JSON too but for the tab, which JSON escapes).
"""

from __future__ import annotations

import base64
import html
import json

import pytest

from readme_metrics.har import inflation_budget
from readme_metrics.har.base64_runs import _end, archive_held, archives_hidden
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.work_count import calls
from tests.test_hostile41_findings import (
    DENY,
    GROUPED,
    PROSE_ZIP,
    _b64,
    _form_kept,
    _grouped,
    _leaks,
)

MARKS = ["\t", "  ", "-", "_", ",", ":", "|", ";", ", "]


@pytest.fixture(autouse=True)
def full_budget() -> None:
    inflation_budget.BUDGET.refill()


@pytest.mark.parametrize("mark", MARKS)
@pytest.mark.parametrize("archive", sorted(GROUPED))
def test_groups_of_four_parted_by_any_mark_are_read(archive: str, mark: str) -> None:
    """Failed before: 36 of 36 (every place but JSON's tab)."""
    value = _grouped(GROUPED[archive], mark)
    assert base64.b64decode(value) == base64.b64decode(GROUPED[archive])
    assert _leaks(value) == []


@pytest.mark.parametrize("size", [5, 6, 10])
@pytest.mark.parametrize("archive", sorted(GROUPED))
def test_groups_of_any_width_are_read(archive: str, size: int) -> None:
    """Failed before: 12 of 12."""
    value = _grouped(GROUPED[archive], " ", size)
    assert base64.b64decode(value) == base64.b64decode(GROUPED[archive])
    assert _leaks(value) == []


def run_ends_before(run: str, afters: tuple[str, ...]) -> None:
    """Each of ``afters`` (prose) after the run ``run`` in a text is kept, the run hidden."""
    for after in afters:
        text = f"backup: {run}{after}"
        hidden = archives_hidden(DENY, text)
        assert hidden.startswith("backup: [REDACTED") and hidden.endswith(after), after


def test_a_run_in_groups_ends_at_prose_or_another_mark() -> None:
    """The groups joined are as wide as the first: the prose after a run (words of
    other widths) is kept."""
    run_ends_before(_grouped(GROUPED["zip"], ",", 6),
                    (" and then the rest", ", and then", ". Done", ";next,x"))
    text = "H4sI,this,that,them and that"
    assert text[_end(text, 0):] == " and that"


def test_guard_prose_zips_and_prose_in_marks_are_kept() -> None:
    for value in (_grouped(_b64(PROSE_ZIP), "\t"), _grouped(_b64(PROSE_ZIP), "-"),
                  _grouped(_b64(PROSE_ZIP), "_", 6), _grouped(_b64(PROSE_ZIP), ", ", 10),
                  "H4sI, this, that, with, them", "UEsD|is|what|zips|start|with",
                  "eJ:zlib:eA:eF;KLUv;Qlpo", "snake_case_H4sI_with_more_words_here"):
        assert not archive_held(DENY, value), value
        assert kept_as_sent(f"note: {value}\n".encode(), "text/plain"), value
        assert kept_as_sent(json.dumps({"f": value}).encode(), "application/json"), value
        assert _form_kept(value), value


def _assert_linear(unit: str) -> None:
    """The calls of ``archives_hidden`` over a text of ``unit`` repeated: 4x the text,
    at most 5x the calls."""
    def work(size: int) -> int:
        inflation_budget.BUDGET.refill()
        text = unit * (size // len(unit))
        return calls(lambda: archives_hidden(DENY, text), ("call", "c_call"))
    small, large = work(16 << 10), work(64 << 10)
    assert large <= 5 * small, (small, large)


@pytest.mark.parametrize("unit", ["UEsD\t", "H4sI, ", "eJxL|", "UEsDB-", "H4sIAAAA:",
                                  "eJxLAAAA;"])
def test_the_work_stays_linear_in_a_text_of_marked_magics(unit: str) -> None:
    """Counted (tests/support/work_count.py: Python and C calls), not timed: 4x the
    text, at most 5x the calls (4.0x measured; a magic after each mark starts a run
    each, covered by the first reading at its alignment). ``text_work`` is not the
    count here: it charges each ``str.find`` the whole text's length, 15.9x on main."""
    _assert_linear(unit)


# 2. character references in a run --------------------------------------------------

REFERENCES = {"padded": ("&#0043;", "&#x002F;", "&#0061;"),
              "padded-hex": ("&#x02B;", "&#00047;", "&#x0003D;"),
              "names": ("&plus;", "&sol;", "&equals;")}


def _referenced(value: str, spelling: str) -> str:
    plus, slash, equals = REFERENCES[spelling]
    return value.replace("+", plus).replace("/", slash).replace("=", equals)


@pytest.mark.parametrize("spelling", sorted(REFERENCES))
@pytest.mark.parametrize("archive", sorted(GROUPED))
def test_zero_padded_and_named_references_in_xml_are_read(archive: str,
                                                          spelling: str) -> None:
    """An archive's base64 in XML with ``+``, ``/``, ``=`` written as references XML and
    HTML read (``&#0043;``, ``&#x002F;``, ``&plus;``): its middle is hidden. Failed
    before: 6 of 12 (the zlib streams, sent as written; a zip's and a gzip's runs, cut at
    the first reference, were hidden unread)."""
    value = _referenced(GROUPED[archive], spelling)
    assert html.unescape(value) == GROUPED[archive]
    text = f"<backup><file>{value}</file></backup>"
    hidden = archives_hidden(DENY, text)
    assert hidden.startswith("<backup><file>[REDACTED") and hidden.endswith("</file></backup>")
    for sent in bodies_logged(text.encode(), "application/xml"):
        assert SECRET not in sent and value[8:40] not in sent


@pytest.mark.parametrize("spelling", sorted(REFERENCES))
def test_a_prose_zip_with_references_is_read_whole_and_kept(spelling: str) -> None:
    """Guard: a prose zip's base64 so written is read whole (its bytes hold no denied
    key) and kept (passed before too: cut at the first reference, its first entry was
    read)."""
    value = _referenced(_b64(PROSE_ZIP), spelling)
    assert not archive_held(DENY, value)
    assert kept_as_sent(f"<f>{value}</f>".encode(), "application/xml")


def test_the_work_stays_linear_in_padded_references() -> None:
    """A text of magics and references padded with many zeros: 4x the text, at most 5x
    the calls (each reference's zeros dropped in one pass)."""
    _assert_linear("H4sI&#" + "0" * 200 + "43;")
