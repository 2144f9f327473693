"""import1: what a cold start pays for importing the library (a gunicorn worker recycled
by --max-requests, a serverless start, a ``flask run`` reload), checked without timing:
the modules ``import readme_metrics`` loads, the regular expressions the library's
modules compile at import (benchmarks/import_time.py measures the times), and that a
pattern compiled on first use (readme_metrics._lazy_re) matches as the compiled one and
adds no check per call once used.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har import document_readings, percent, redaction_csv, redaction_cut, text
from tests.support.processes import run_command

ROOT = Path(__file__).resolve().parent.parent

#: Regular expressions the library's modules compile while ``readme_metrics.flask_readme``
#: is imported (172 before import1; 50 of them redaction_cut's, for documents hidden in
#: forms). A new module-level pattern for a kind of body few requests carry: compile it on
#: first use (``readme_metrics._lazy_re.lazy_compile``) rather than raise this bound.
MOST_COMPILED_AT_IMPORT = 118

#: Not needed until the first POST to ReadMe (the delivery imports them then, or with
#: the middleware): a bare ``import readme_metrics`` (MetricsApiConfig, the companion
#: middlewares, the command line) loaded them all, 163 modules of its 354.
HEAVY = ("requests", "urllib3", "ssl", "http.cookiejar", "charset_normalizer", "idna")


def _child(code: str, *arguments: str, cwd: Optional[Path] = None,
           environ: Optional[dict[str, str]] = None) -> Any:
    """What a fresh interpreter running ``code`` in this tree prints (JSON), in ``cwd``
    (this tree's root) with ``environ`` (this process's environment)."""
    env = dict(os.environ if environ is None else environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part])
    done = run_command([sys.executable, "-c", code, *arguments], capture_output=True,
                       text=True, env=env, cwd=str(cwd or ROOT))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _benchmark() -> Any:
    spec = importlib.util.spec_from_file_location(
        "import_time", ROOT / "benchmarks" / "import_time.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_import_readme_metrics_loads_no_http_client() -> None:
    # Failed before: url_checks imported requests at import (requests, urllib3, ssl,
    # http.cookiejar, charset_normalizer, idna all loaded by ``import readme_metrics``).
    code = ("import json, sys, readme_metrics\n"
            "print(json.dumps([name for name in sys.argv[1:] if name in sys.modules]))")
    assert _child(code, *HEAVY) == []


def test_the_url_check_still_loads_requests_when_it_runs() -> None:
    # The check moved into the function: MetricsApiConfig with a base URL still checks it
    # with requests (an IDNA-refused host name stays refused, as before).
    code = ("import json, sys\n"
            "from readme_metrics.url_checks import _host_name_problem\n"
            "said = _host_name_problem('http://\\u2603.com', '\\u2603.com')\n"
            "fine = _host_name_problem('http://xn--n3h.com', 'xn--n3h.com')\n"
            "print(json.dumps([said, fine, 'requests' in sys.modules]))")
    said, fine, loaded = _child(code)
    assert said and "not valid" in said, said
    assert fine is None and loaded


def test_few_regular_expressions_compiled_at_import() -> None:
    # Failed before: 172 compiled, 50 of them by redaction_cut.
    counts = _child(_benchmark().COMPILES, "readme_metrics.flask_readme")
    ours = {name: count for name, count in counts.items()
            if name.startswith("readme_metrics")}
    assert "readme_metrics.har.redaction_cut" not in ours, ours
    assert sum(ours.values()) <= MOST_COMPILED_AT_IMPORT, sorted(
        ours.items(), key=lambda item: -item[1])


def _lazy_patterns() -> list[Any]:
    readings = [value for value in vars(document_readings).values()
                if isinstance(value, document_readings.Reading)]
    readings += document_readings.ESCAPED + document_readings.ESCAPED_DECODED
    patterns = [getattr(reading, field) for reading in readings
                for field in ("quote", "backslash", "name_end", "blanks", "token",
                              "opening", "closing")]
    return patterns + [redaction_cut._CUTTING, redaction_cut._STRING_PREFIX,
                       redaction_cut._LITERAL, percent._UTF8_RUN, text._ASCII_PAIR,
                       text._ASCII_PAIR_RUN, redaction_csv._QUOTED]


def test_each_lazy_pattern_is_the_pattern_it_was() -> None:
    for lazy in _lazy_patterns():
        source, flags = lazy._lazy_source
        assert re.compile(source, flags).pattern == lazy.pattern


_SPELLINGS = st.lists(st.sampled_from(
    list('"\'\\:{}[] \t\n+%2CcAa57BbDdFfu0rb&=;#,x') + ["%22", "%5C", "%7B", "%27",
                                                         "\\u0022", "\u6472", "%E2%82%AC"]),
    max_size=60).map("".join)


@settings(max_examples=60, deadline=None)
@given(_SPELLINGS, st.integers(min_value=0, max_value=5))
def test_lazy_patterns_match_as_compiled(raw: str, start: int) -> None:
    for lazy in _lazy_patterns():
        compiled = re.compile(*lazy._lazy_source)
        assert [m.span() for m in lazy.finditer(raw)] == [
            m.span() for m in compiled.finditer(raw)]
        found, expected = lazy.search(raw, start), compiled.search(raw, start)
        assert (found and found.groups()) == (expected and expected.groups())
        assert lazy.split(raw) == compiled.split(raw)
        assert lazy.sub("-", raw) == compiled.sub("-", raw)


def test_no_check_per_call_once_used() -> None:
    lazy = lazy_compile(r"a(b)?")
    assert "search" not in vars(lazy)  # nothing compiled yet
    assert lazy.search("xab") is not None
    # The first look-up bound the compiled pattern's methods on the object: later calls
    # find them in its dict (no __getattr__, no check), as bound methods of the pattern.
    for name in ("search", "match", "fullmatch", "finditer", "findall", "split", "sub"):
        bound = vars(lazy)[name]
        assert isinstance(bound.__self__, re.Pattern) and bound.__name__ == name
    assert lazy.groups == 1 and lazy.pattern == r"a(b)?"
    assert re.compile(r"a(b)?") is vars(lazy)["search"].__self__  # re's own cache


def test_a_lazy_pattern_of_bytes() -> None:
    lazy = lazy_compile(rb"\r\n")
    assert lazy.split(b"a\r\nb") == [b"a", b"b"]
