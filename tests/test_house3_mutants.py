"""house3: behaviours a mutation of the core changed with no test failing (a small AST
mutator over har/, capture/request.py, delivery/stretch.py and delivery/watchdog.py,
each module's own tests run against each mutant). Each test here fails on its mutant."""

from __future__ import annotations

import threading
import time

from readme_metrics.capture.forwarded import _IP_TEXT_MAX, pick_client_ip
from readme_metrics.delivery import watchdog
from readme_metrics.har.credentials import for_key
from readme_metrics.har.scrub import _records


def test_an_errand_set_at_a_time_still_runs_after_another_is_set() -> None:
    """watchdog.run_at resets the module's state only in a process forked without
    Python's hooks (another pid). Mutant: ``_pid == os.getpid()`` reset it at every call
    in the same process, dropping the errands already waiting (a sender's next look at
    a stretched POST, core.py) and starting another watchdog thread."""
    first, second = threading.Event(), threading.Event()
    when = time.monotonic() + 0.05
    watchdog.run_at(when, first.set)
    watchdog.run_at(when, second.set)
    assert second.wait(30.0)
    assert first.wait(30.0)


def test_an_errand_set_for_later_waits_for_its_time() -> None:
    """The watchdog runs the errands whose time has come, not the later ones. Mutant:
    ``_timers[0][1] <= now`` (the order counter for the time) ran every errand at the
    next wake-up; ``_timers[1][0]`` ended the watchdog thread (IndexError, test above)."""
    later, soon = threading.Event(), threading.Event()
    now = time.monotonic()
    watchdog.run_at(now + 3600.0, later.set)
    watchdog.run_at(now + 0.05, soon.set)
    assert soon.wait(30.0)
    assert not later.is_set()


def test_a_forwarded_hop_of_the_longest_address_length_is_taken() -> None:
    """A hop of ``_IP_TEXT_MAX`` characters that is an IP address (v6 with a zone and a
    port, bracketed) is the client's address; one character more gives the remote
    address. Mutant: ``len(hop) < _IP_TEXT_MAX`` gave the remote address for both."""
    zone = "z" * (_IP_TEXT_MAX - len("[fe80::1%]:443"))
    longest = f"[fe80::1%{zone}]:443"
    assert len(longest) == _IP_TEXT_MAX
    assert pick_client_ip("10.0.0.9", longest, 1) == f"fe80::1%{zone}"
    assert pick_client_ip("10.0.0.9", f"[fe80::1%{zone}z]:443", 1) == "10.0.0.9"


def test_the_key_in_a_records_name_and_value_is_masked() -> None:
    """scrub's loop over {name, value} records (query pairs, cookies, form fields): the
    key in a name and in a value is masked. Mutants that passed scrub's own tests:
    ``whole not in name`` and the name's test joined by ``and`` instead of ``or``."""
    key = "rdme_xn8s9h3a7b2c1d0e5f4g"
    caller = for_key(key)
    assert caller is not None
    records = [{"name": f"a{key}b", "value": "v"}, {"name": "n", "value": f"x{key}y"}]
    _records(caller, records)
    assert all(key not in record["name"] and key not in record["value"]
               for record in records), records
