"""Findings of review (odds7): the grouping path's circular-import hint given for a typo,
the `flask run` wording for a value docker or compose put in the environment, and a
bad size argument of the app's own read marking the captured input failed."""

from __future__ import annotations

import sys
from typing import Any

import pytest


def grouping(request: Any) -> None:
    return None


def _config_error_while_importing(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                  module: str, attr: str) -> str:
    """The error of ``MetricsApiConfig()`` made in ``module`` above ``def
    grouping_function``, with README_GROUPING_FUNCTION naming ``module:attr``."""
    (tmp_path / f"{module}.py").write_text(
        "from readme_metrics import MetricsApiConfig\n"
        "config = MetricsApiConfig()\n"
        "def grouping_function(request):\n"
        "    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("README_API_KEY", "any-key")
    monkeypatch.setenv("README_GROUPING_FUNCTION", f"{module}:{attr}")
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ValueError) as error:
        __import__(module)
    sys.modules.pop(module, None)
    return str(error.value)


@pytest.mark.parametrize(("attr", "said"), [
    pytest.param("no_such_thing", "module '{m}' has no attribute 'no_such_thing' "
                 "(from the environment)", id="a-name-the-module-does-not-define"),
    pytest.param("grouping_functon", "module '{m}' has no attribute 'grouping_functon' "
                 "(did you mean 'grouping_function'? It is defined below the line that "
                 "makes this configuration: move it above that line, or pass the function "
                 "itself as the argument) (from the environment)", id="a-typo-of-one-below"),
    pytest.param("grouping_function", "{m} is still being imported, and 'grouping_function'"
                 " is defined below the line that makes this configuration: move it above "
                 "that line, or pass the function itself as the argument (from the "
                 "environment)", id="defined-below-the-config-line"),
])
def test_the_circular_import_hint_only_for_a_name_the_module_defines(
        tmp_path, monkeypatch: pytest.MonkeyPatch, attr: str, said: str) -> None:
    """The hint said "'no_such_thing' is defined below the line ..." (and Python's "most
    likely due to a circular import") for a name the module has nowhere: a typo."""
    module = f"odds7_app_{attr}"
    message = _config_error_while_importing(tmp_path, monkeypatch, module, attr)
    assert message.endswith(said.format(m=module)), message
    if attr != "grouping_function":
        assert "circular" not in message
