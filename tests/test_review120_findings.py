"""review120: adversarial review of delivery39's landing.

Under gunicorn's ``-k asgi`` worker the exit's close counts from the server's stop (the
ASGI lifespan's flush had the same bound, from the same SIGTERM). The lifespan's flush
gave up at that bound ("gave up after 2s ... 22 logs not delivered yet"); the close,
beginning after it with no time left, said "closing: 22 logs to send within 2s ...
counted from its SIGTERM 3.0s before the close began" (it began 5 s after it, with
none) and then "closing gave up after 2s" (it gave up at once): the lifespan's figures
said again as the close's own. Now the close says the time it has (none) and the time
since the SIGTERM as it begins.

Real parts: gunicorn 27 (``-k asgi``) in a subprocess, the loopback collector holding
every answer; nothing timed (the close begins past the lifespan's deadline: no time
left, whatever the machine's load).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.test_delivery39_gunicorn_stops import CASES, run_stop
from tests.test_greenlet_servers import _check_quiet


@pytest.mark.e2e
def test_asgi_close_after_the_lifespans_give_up_says_the_time_it_has(
        collector: Collector, tmp_path: Path) -> None:
    source, argv = CASES["asgi"]
    answered, out, err = run_stop(collector, tmp_path, source, argv)
    assert answered == [200]
    assert "was sent SIGKILL" not in err, err
    flushed = re.search(r"the flush at the ASGI lifespan's shutdown gave up after "
                        r"([\d.]+)s.*?22 logs not delivered yet", err)
    assert flushed is not None, err
    began = re.search(r"closing: 22 logs to send within ([\d.]+)s, .*?counted from its "
                      r"SIGTERM ([\d.]+)s before the close began \(requests still "
                      r"served meanwhile, then the flush at the server's stop for "
                      r"([\d.]+)s\)", err)
    assert began is not None, err
    assert float(began.group(1)) == 0  # the lifespan's flush had the whole bound
    assert float(began.group(2)) == pytest.approx(5, abs=0.15)
    assert re.search(r"closing gave up after 0s, gunicorn's --graceful-timeout of 6s "
                     r"being near: 22 logs not delivered", err), err
    _check_quiet(out, err)
