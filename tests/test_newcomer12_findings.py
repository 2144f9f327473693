"""A newcomer's first hour, twelfth pass: README followed in a fresh clone (the demo, the
test command, each quick start pointed at ``readme-metrics collect``, nginx in front with
``trusted_proxies``), then the mistakes a newcomer makes, and what the library says.

Each test is one thing tried there, with the library's real parts; none passed before its
fix, but for the options table's default column, which was right and is now held to it.
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.options import BY_NAME, OPTIONS

ROOT = Path(__file__).resolve().parent.parent


# -- README's options table: the default column is what MetricsApiConfig makes -------------

def _readme_option_rows() -> list[list[str]]:
    """The cells of each row of README's options table (argument, variable, default,
    meaning), as README has them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    header = "| argument | environment variable | default | meaning |"
    lines = text[text.index(header):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|", 3)])
    return rows


def _shown(cell: str, value: Any) -> bool:
    """Whether README's default cell (`10`, `262144` (256 KiB), `OPTIONS`, ...) says
    ``value``."""
    literal = re.match(r"`([^`]*)`", cell)
    assert literal, f"no `value` in the default cell {cell!r}"
    text = literal.group(1)
    size = re.search(r"\((\d+) (KiB|MiB)\)", cell)
    if size:  # the size in words agrees with the number
        assert int(text) == int(size.group(1)) * {"KiB": 1024, "MiB": 1024 ** 2}[size.group(2)]
    if text.startswith("logging.getLogger("):
        return eval(text, {"logging": logging}) is value  # noqa: S307 (README's own text)
    try:
        return bool(ast.literal_eval(text) == value and type(value) is not str)
    except (ValueError, SyntaxError):  # a URL, a list as the environment spells it
        return text == (",".join(value) if isinstance(value, list) else value)


def test_every_row_of_readmes_options_table_is_an_option_with_its_variable() -> None:
    rows = _readme_option_rows()
    assert [row[0] for row in rows] == [f"`{option.name}`" for option in OPTIONS]
    for name, variable, _, _ in rows:
        option = BY_NAME[name.strip("`")]
        assert variable == (f"`{option.variable}`" if option.variable else "-"), name


@pytest.mark.parametrize("row", _readme_option_rows(), ids=lambda row: row[0].strip("`"))
def test_readmes_default_for_each_option_is_the_one_metricsapiconfig_makes(
        row: list[str]) -> None:
    # README's table is readme_metrics.options.markdown_table(), verbatim (test_config),
    # but its default column is each option's shown_default, text written beside the
    # default itself: buffer_length's 10 changed to 20 in the code would still show 10.
    name, _, default, _ = row
    name = name.strip("`")
    option = BY_NAME[name]
    if option.alias_of is not None:
        assert default == "-"
        return
    if default == "required":
        given = {"api_key": "any-key", "grouping_function": lambda request: None}
        del given[name]
        with pytest.raises(ValueError, match=rf"{name}( \(README_[A-Z_]+\))? is required"):
            MetricsApiConfig(**given)
        return
    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    value = getattr(config, name)
    assert _shown(default, value), f"README shows {default} for {name}, the default is {value!r}"


# -- a grouping function whose signature does not take the request --------------------------

def _keyword_only(*, request: Any) -> None:
    return None


def _any_keywords(**keywords: Any) -> None:
    return None


class _Grouper:
    def group(self, request: Any) -> None:
        return None


@pytest.mark.parametrize("function, said", [
    # Said "_keyword_only(*, request) takes no argument, but it is called with one": it
    # does take one, by keyword.
    (_keyword_only, "_keyword_only(*, request) takes its arguments by keyword only, but it "
     "is called with one positional argument, the request: write def _keyword_only(request)"),
    (_any_keywords, "_any_keywords(**keywords) takes its arguments by keyword only, but it "
     "is called with one positional argument, the request: write def _any_keywords(request)"),
    # Said "cannot be called with the request alone (missing a required argument:
    # 'request'): it takes one argument, the request", which it does: the mistake is the
    # class's function passed for an instance's method.
    (_Grouper.group, "_Grouper.group(self, request) is a method taken from the class, not "
     "from an instance, so the request would be its self: pass an instance's, "
     "_Grouper().group, or make it a @staticmethod"),
])
def test_a_grouping_function_with_the_wrong_signature_says_what_to_write(
        function: Any, said: str) -> None:
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=function)
    assert str(caught.value) == (
        f"readme_metrics: grouping_function (README_GROUPING_FUNCTION): {said}")


def test_a_method_of_an_instance_or_a_function_taking_self_is_not_taken_for_one() -> None:
    # The instance's method works; so does a module-level function whose only parameter
    # happens to be called self.
    config = MetricsApiConfig(api_key="any-key", grouping_function=_Grouper().group)
    assert config.grouping_function("a request") is None

    def nested(self: Any, other: Any) -> None:
        return None

    with pytest.raises(ValueError, match=r"cannot be called with the request alone"):
        MetricsApiConfig(api_key="any-key", grouping_function=nested)
