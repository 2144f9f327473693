"""review141: hostile51 (a denylist in bodies that are no JSON nor form) and cpu36 (a
queued WSGI log's environ values and response headers joined by NUL), read as an
adversary.

1. hostile51's test for text/plain lines that are YAML's pairs (``names_a_pair``, which
   decides whether a text/plain body is read as YAML) backtracked on a line before the
   first pair naming a denied key: a plain key taken lazily (``[^\\n:]*?[ \\t]*:``) ran
   the blanks after each of its characters, and a key could start with an item's ``- ``,
   read again after each of the items. 64 KiB of ``a`` and blanks: 2.4 s of CPU; 64 KiB
   of ``- ``: 22 s (1 MiB: hours), where the rest of the reading takes milliseconds.
   Each line is now tried once, each backtracking step a character's test.
2. A text/plain properties file with one escaped key (``a\\b=c``) had its plain lines
   (``password ...``, ``password:...``) read by neither of hostile51's readings (the one
   of escaped lines, the one of files whose every line is plain): sent in clear.

What was probed and found sound is in the report; the tests below guard the fix and
the readings the rewritten pattern must keep.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from readme_metrics.har.redaction import Redactor
from readme_metrics.har.yaml_lines import names_a_pair
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent

DENY = Redactor(["password"])

_RUN = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
from readme_metrics.har.bodies import post_data
from readme_metrics.har.redaction import Redactor
unit = sys.argv[1]
body = sys.argv[2] + unit * ((1 << 20) // len(unit))
body = (body + "\\npassword: Zq8h22Xw3K\\nuser: ada\\n").encode()
text = post_data(body, len(body), {"content-type": "text/plain"}, Redactor(["password"]),
                 1 << 24)["text"]
assert "Zq8h22Xw3K" not in text and "user: ada" in text, text[-200:]
"""


@pytest.mark.parametrize("unit", [
    pytest.param(" ", id="blanks-after-a-word"),
    pytest.param("- ", id="items"),
    pytest.param("-\t", id="items-tab"),
])
def test_a_text_plain_line_before_a_denied_pair_is_read_once(unit: str) -> None:
    """1 MiB on one line, then ``password: ...``: in a child whose CPU time is bounded
    at 20 s (a bound on the work, not a timing: linear reads it in a fraction of a
    second; main's pattern, ~10 minutes for the blanks and hours for the items). Failed
    before: 3 of 3 (killed at the bound); pass now."""
    from tests.support.processes import run_command

    root = Path(__file__).resolve().parent.parent
    head = "a" if unit == " " else ""  # (a word first: a line of blanks is no key)
    done = run_command([sys.executable, "-c", _RUN, unit, head], timeout=600,
                       capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])


def _denied(name: str) -> bool:
    return name.lower() == "password"


@pytest.mark.parametrize(("line", "pair"), [
    ("password: x", True),
    ("password : x", True),       # (blanks before the colon: the key's, trimmed)
    ("password\t:\tx", True),
    ("password:", True),
    ("password:\r\n", True),
    ("- - password: x", True),
    ('"password" : x', True),
    ("'password': x", True),
    ("user: ada\n  - password: x", True),
    ("Note: password rules below", False),
    ("password:x", False),        # (no blank after the colon: no pair)
    ("-password: x", False),
    ("[password]: x", False),
    ("a: password: x", False),
    ('"password ": x', False),    # (a quoted key's blanks are its own)
    ("2024-01-01 12:00:00 INFO password: changed", False),
])
def test_the_pair_lines_read_as_before(line: str, pair: bool) -> None:
    """The rewritten pattern names the pairs hostile51's did (200,000 random lines of
    its pieces compared with the old pattern: none differed)."""
    assert names_a_pair(line, _denied) is pair


@pytest.mark.parametrize("body", [
    f"a{' ' * 64}\npassword : {SECRET}\r\nuser: ada\r\n",
    f"{'- ' * 64}\n- - password: {SECRET}\nuser: ada\n",
])
def test_a_denied_pair_after_such_a_line_is_still_hidden(body: str) -> None:
    for text in bodies_logged(body.encode(), "text/plain", DENY):
        assert SECRET not in text and "user: ada" in text, text


@pytest.mark.parametrize("body", [
    "Note: password rules below\nMust be 8 chars.\n",
    "2024-01-01 12:00:00 INFO password: changed for ada\n",
    "contact a@b or ada@example.com / see docs\n",
])
def test_prose_naming_a_password_is_kept(body: str) -> None:
    assert kept_as_sent(body.encode(), "text/plain", DENY)


# 2. A properties file with one escaped line: its plain lines ------------------------------

#: hostile51 reads a text/plain body's lines holding a ``\\`` as a properties file's, and
#: a body whose every line is plain as one; a file with both had its plain lines read
#: by neither: ``password ...`` and ``password:...`` went out in clear.
MIXED = {
    "blank-separator": f"a\\b=c\npassword {SECRET}\nuser=ada\n",
    "colon-separator": f"a\\b=c\npassword:{SECRET}\nuser=ada\n",
    "after-a-continued-line": f"a=b\\\n  c\\:d\ndb.password {SECRET}\nuser=ada\n",
}


@pytest.mark.parametrize("mime", ["text/plain", "application/octet-stream", ""])
@pytest.mark.parametrize("case", MIXED)
def test_a_properties_files_plain_lines_next_to_an_escaped_one_are_read(
        case: str, mime: str) -> None:
    """Failed before: 9 of 9; pass now."""
    for text in bodies_logged(MIXED[case].encode(), mime, DENY):
        assert SECRET not in text and "user=ada" in text, text


@pytest.mark.parametrize("body", [
    "a\\b=c\npassword rules apply here\n",     # (a sentence: no properties file)
    "See C:\\dir for the password reset\npassword rules\n",
    "a\\b=c\npassword\n",                       # (a key alone: nothing to hide)
])
def test_prose_next_to_a_backslash_is_kept(body: str) -> None:
    assert kept_as_sent(body.encode(), "text/plain", DENY)


def test_the_plain_lines_pass_is_linear() -> None:
    """Four times the lines, at most five times the work (tests/support/work_count.py)."""
    from tests.test_hostile45_findings import _body_work

    def work(n: int) -> int:
        return _body_work("a\\b=c\n" + "password x\n" * n, "text/plain")

    small, large = work(2048), work(8192)
    assert large <= 5 * small, (small, large)
