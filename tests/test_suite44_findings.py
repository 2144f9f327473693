"""suite44: the percent-encoding of any str made in one place, and the suite's gunicorns.

``quote(utf8(text), safe)`` (a str that may hold a lone surrogate percent-encoded as the
bytes :func:`readme_metrics.masking.utf8` says it stands for) was written out in seven
places (key_url four times, key_authority, key_forms, header_urls' own ``_quoted``):
:func:`readme_metrics.masking.url_quoted` is that one helper, its output the same.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.masking import url_quoted
from tests.support import processes
from tests.support.processes import run_command

PACKAGE = Path(__file__).resolve().parents[1] / "readme_metrics"

#: Any character but a surrogate (stdlib's quote encodes strict UTF-8).
_ENCODABLE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_SAFE = st.text(st.sampled_from("/:@!$&'()*+,;=-._~% ?#"), max_size=6)


@settings(max_examples=40)  # (a stdlib call each: 100 took 13 s of a loaded run)
@given(text=_ENCODABLE, safe=_SAFE)
def test_url_quoted_is_stdlib_quote_for_any_str_it_takes(text: str, safe: str) -> None:
    assert url_quoted(text, safe) == quote(text, safe=safe)
    assert url_quoted(text, safe, plus=True) == quote_plus(text, safe=safe)


@pytest.mark.parametrize(("text", "expected"), [
    ("a\udc80b", "a%80b"),            # surrogateescape's byte, as it was read
    ("\udcff", "%FF"),
    ("\ud800", "%ED%A0%80"),          # no byte of surrogateescape's: its own three
    ("k\udc80 \ud83d/", "k%80%20%ED%A0%BD%2F"),
])
def test_url_quoted_encodes_a_lone_surrogate_as_utf8_says(text: str, expected: str) -> None:
    assert url_quoted(text) == expected
    assert url_quoted(text, plus=True) == expected.replace("%20", "+")


#: A call of quote or quote_plus on ``utf8(...)`` itself (a regex over the text: parsing
#: the package's 330 modules took 30 s of a loaded run).
_QUOTE_OF_UTF8 = re.compile(r"\bquote(?:_plus)?\(\s*utf8\(")


def test_no_module_quotes_utf8_itself() -> None:
    """Each caller uses url_quoted (seven did it inline before suite44)."""
    assert [f"{path.relative_to(PACKAGE.parent)}:{text.count(chr(10), 0, found.start()) + 1}"
            for path in sorted(PACKAGE.rglob("*.py"))
            for text in [path.read_text(encoding="utf-8")]
            for found in _QUOTE_OF_UTF8.finditer(text)] == []


# -- the suite's gunicorns: no control socket shared --------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="start_server's env (Linux)")
def test_a_gunicorn_the_tests_start_opens_no_control_socket(tmp_path: Path) -> None:
    """gunicorn (>= 27) as every test starts one (start_server), its settings read as it
    reads them (``--print-config``): no control socket. Before suite44 each opened one at
    ``~/.gunicorn/gunicorn.ctl``, one path for all: in a -n 4 run of ten gunicorn
    modules, two servers bound it at once three times, each unlinking the other's."""
    if not processes._gunicorn_knows_no_control_socket():
        pytest.skip("no gunicorn >= 27 here (no control socket to share)")
    (tmp_path / "hello44.py").write_text("def app(environ, start_response):\n    return []\n")
    printed = run_command([sys.executable, "-m", "gunicorn", "--print-config", "hello44:app"],
                          cwd=tmp_path, capture_output=True, check=True).stdout.decode()
    assert re.search(r"^control_socket_disable\s*=\s*True$", printed, re.M), printed
