"""import49: what a start (a user's app, each server and command of the test suite) pays
for importing the middleware and making its first configuration, checked without timing:
environs (and marshmallow under it, about a fifth of ``import readme_metrics.middleware``)
and python-dotenv are imported only when a value is parsed (a number or a flag that is
set) or a ``.env`` file is read, and a variable's text looked up without them is the text
environs' ``str`` parser gives; and a WSGI start imports no asyncio (benchmarks/import_time.py
measures the times).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics import env_source
from tests.test_import1_findings import _child as import1_child

#: Needed only to parse a value, or to read a .env file (environs' own reader); and
#: asyncio, by no WSGI start (delivery's hypercorn and uvicorn watches use it in theirs).
NOT_AT_START = ("environs", "marshmallow", "dotenv", "asyncio")

_FIRST_CONFIG = (
    "import json, sys\n"
    "import readme_metrics.middleware\n"
    "from readme_metrics import MetricsApiConfig, MetricsMiddleware\n"
    "loaded = [name for name in sys.argv[1:] if name in sys.modules]\n"
    "config = MetricsApiConfig(api_key='rdme_x', grouping_function=lambda r: {'a': 1})\n"
    "MetricsMiddleware(lambda environ, start_response: [], config)\n"
    "made = [name for name in sys.argv[1:] if name in sys.modules]\n"
    "print(json.dumps([loaded, made]))")


def _child(code: str, cwd: Path, extra: dict[str, str], *arguments: str) -> Any:
    """test_import1's child, in ``cwd``, with no README_* variable set but ``extra``."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_")}
    env.update(extra)
    return import1_child(code, *arguments, cwd=cwd, environ=env)


def test_middleware_and_first_config_import_no_environs_nor_asyncio(tmp_path: Path) -> None:
    # Failed before: _env, env_source and options imported environs at import (and
    # env_source python-dotenv), delivery's hypercorn_stop and uvicorn_exit asyncio, so
    # all four were loaded by the middleware's import.
    loaded, made = _child(_FIRST_CONFIG, tmp_path, {}, *NOT_AT_START)
    assert loaded == [] and made == []


def test_a_set_number_still_parsed_by_environs(tmp_path: Path) -> None:
    # The same error as before for a value environs refuses, and environs loaded for it.
    code = ("import json, sys\n"
            "from readme_metrics import MetricsApiConfig\n"
            "try:\n"
            "    MetricsApiConfig(api_key='rdme_x', grouping_function=lambda r: {})\n"
            "    said = None\n"
            "except ValueError as exc:\n"
            "    said = str(exc)\n"
            "print(json.dumps([said, 'environs' in sys.modules]))")
    said, loaded = _child(code, tmp_path, {"README_TIMEOUT": "soon"})
    assert said == ("readme_metrics: timeout (README_TIMEOUT) must be a number of seconds "
                    "> 0 and <= 86400, got 'soon' (from the environment)")
    assert loaded


def test_a_dotenv_file_is_still_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("README_API_KEY=rdme_from_file\n", encoding="utf-8")
    code = ("import json, sys\n"
            "from readme_metrics import MetricsApiConfig\n"
            "config = MetricsApiConfig(grouping_function=lambda r: {})\n"
            "print(json.dumps([config.README_API_KEY, 'environs' in sys.modules]))")
    key, loaded = _child(code, tmp_path, {})
    assert key == "rdme_from_file" and not loaded


_NAME = "README_IMPORT49_PROBE"
_TEXTS = st.one_of(st.none(), st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12))


@settings(max_examples=80, deadline=None)
@given(_TEXTS, _TEXTS)
def test_value_is_what_environs_str_reads(real: Any, in_file: Any) -> None:
    # The text looked up without environs (env_source.value) is environs' str parser's
    # over the same environment and .env values, the real environment winning.
    env_source._current()  # read for this directory: the values below stay until restored
    saved_values, saved_env = env_source._file_values, env_source._env
    try:
        os.environ.pop(_NAME, None)
        if real is not None:
            os.environ[_NAME] = real
        file = {} if in_file is None else {_NAME: in_file}
        env_source._file_values = file
        env_source._env = None
        expected = env_source.file_env(file).str(_NAME, default=None)
        assert env_source.value(_NAME) == expected
    finally:
        os.environ.pop(_NAME, None)
        env_source._file_values, env_source._env = saved_values, saved_env
