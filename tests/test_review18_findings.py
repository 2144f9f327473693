"""review18's findings (an adversarial read of what landed between 55f6597 and 0bf7b6c):
each test fails on main at 0bf7b6c and passes with its fix. Real middleware, real apps,
the real collector on 127.0.0.1 (tests/support/fake_api.py).
"""

from __future__ import annotations

import ast
import json
import os
import textwrap
from typing import Any, Iterator

import pytest

from readme_metrics.masking import mask
from tests.support.contract import run_python
from tests.support.key_site import Site

SHORT = "k42"
LONG = "sk_live_0123-456789"


def _strings(node: Any) -> Iterator[str]:
    """Every string of a JSON document read with all its members (names too)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _strings(item)


@pytest.mark.parametrize(("key", "spelled"), [
    pytest.param(SHORT, "k\\u00342", id="short"),
    pytest.param(LONG, "sk_live_0123\\u002d456789", id="long"),
])
def test_a_key_spelled_with_escapes_in_a_member_given_twice_is_masked(
        site: Site, key: str, spelled: str) -> None:
    """A JSON body whose object names a member twice: the parser keeps the last one, and
    the walk that masks the key never sees the first. 76c8e0f masked a short key there
    when written as is; spelled with a JSON escape (``k\\u00342`` is ``k42``), short or
    long, the body went out as sent, the caller's key in it."""
    body = '{"a": "' + spelled + '", "a": 1, "price": 10.50}'
    entry, _ = site.send(key, method="POST", body=body.encode(),
                         headers={"Content-Type": "application/json"})
    text = entry["request"]["postData"]["text"]
    every = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    assert not any(key in s.replace(mask(key), "") for s in _strings(every)), text
    assert json.loads(text)["a"] == 1


def test_a_json_body_with_escapes_and_no_key_is_sent_as_it_came(site: Site) -> None:
    """What the fix must not do: rewrite a JSON body that holds no key (its escapes, its
    10.50, its layout as sent)."""
    body = '{"a": "x\\u0041\\n", "a": 1, "price": 10.50}'
    entry, hits = site.send(SHORT, method="POST", body=body.encode(),
                            headers={"Content-Type": "application/json"})
    assert hits == [], hits
    assert entry["request"]["postData"]["text"] == body


# -- log ids: a child forked without Python's fork hooks (uWSGI) ---------------------------

_IDS_IN_C_CHILDREN = textwrap.dedent("""
    import ctypes, os, sys, types
    sys.modules["uwsgi"] = types.ModuleType("uwsgi")  # (a server that forks in C: cpu21)
    from readme_metrics.pipeline import MetricsPipeline

    MetricsPipeline.new_id()  # the master logs once before forking (ids made ahead)
    read, write = os.pipe()
    children = []
    for _ in range(2):
        pid = ctypes.CDLL(None).fork()  # as uWSGI forks its workers: no Python fork hooks
        if pid == 0:
            os.write(write, (MetricsPipeline.new_id() + "\\n").encode())
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    os.close(write)
    with os.fdopen(read) as pipe:
        print(pipe.read().split() + [MetricsPipeline.new_id()])
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_children_forked_without_pythons_hooks_give_their_own_first_ids() -> None:
    """Log ids are made 64 at a time (395f110); a child forked without Python's fork
    hooks re-seeded only when it made more, so it first gave out the ids its parent had
    made and not used: two uWSGI workers of a master that logged once before the fork
    sent their first logs with the same ids (and the master's next one)."""
    result = run_python(_IDS_IN_C_CHILDREN, timeout=30.0)
    ids = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert len(ids) == 3 and all(len(made) == 36 for made in ids), result
    assert len(set(ids)) == 3, ids
