"""A worst case built in a child Python whose CPU is bounded (hostile54, hostile55): a
bound on the work, not a timing. A reader that backtracks on a MiB of a hostile text
runs out of its seconds (SIGXCPU) instead of passing slowly."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.processes import run_command

#: The child's CPU seconds: a linear reader of a MiB takes well under one.
CPU_SECONDS = 20

#: Run first in the child: the bound, then the modules every such script builds with.
_PREFIX = f"""\
import resource, sys
resource.setrlimit(resource.RLIMIT_CPU, ({CPU_SECONDS}, {CPU_SECONDS}))
from readme_metrics.har.build import build_entry
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import make_exchange
"""


def passes_in_capped_child(script: str, *args: str) -> None:
    """Run ``script`` (after :data:`_PREFIX`; ``sys.argv[1:]`` its ``args``) from the
    checkout's root in a child bounded at :data:`CPU_SECONDS` of CPU; fail the test with
    its stderr's end unless it exits 0."""
    root = Path(__file__).resolve().parent.parent.parent
    done = run_command([sys.executable, "-c", _PREFIX + script, *args], timeout=600,
                       capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])


#: A MiB of ``unit`` between two copies of a secret text, as a text/plain body, and in a
#: header between its ``head`` and ``tail``; built with the denylist, ``token`` in none
#: of the log.
_SECRETS = """\
unit, secret, header, head, tail, token = sys.argv[1:]
filler = unit * ((1 << 20) // len(unit))
body = (secret + filler + secret).encode()
value = head + filler.replace(" ", "") + tail
entry = build_entry(make_exchange(url="http://h/", request_headers=[
    ("Host", "h"), ("Content-Type", "text/plain"), (header, value)],
    request_body=body, request_body_size=len(body)), Redactor(["password"]), 1 << 24)
sent = str(entry)
assert token not in sent, sent[-300:]
"""


def secrets_hidden_in_capped_child(unit: str, secret: str, header: str, head: str,
                                   tail: str, token: str = "Zq8h22Xw3K") -> None:
    """A MiB of ``unit`` (a reader's worst case) around ``secret`` in a body and between
    ``head`` and ``tail`` in the ``header``, logged in a capped child
    (:func:`passes_in_capped_child`) with ``token`` hidden everywhere."""
    passes_in_capped_child(_SECRETS, unit, secret, header, head, tail, token)
