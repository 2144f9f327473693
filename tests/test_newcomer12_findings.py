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


# -- trusted_proxies given as the proxies' addresses ---------------------------------------

_NOT_ADDRESSES = ("it is the number of reverse proxies in front of the app, not their "
                  "addresses (1 for one nginx or load balancer, 0 for none)")


@pytest.mark.parametrize("environment, argument, message", [
    # Behind nginx, a newcomer writes what gunicorn's --forwarded-allow-ips and other
    # frameworks' trusted proxies take: the proxy's address. It got the bare "must be an
    # integer >= 0", which does not say what the number counts.
    pytest.param("127.0.0.1", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an "
                 "integer >= 0, got '127.0.0.1' (from the environment): " + _NOT_ADDRESSES,
                 id="env-address"),
    pytest.param("10.0.0.0/8, 192.168.0.0/16", None, "trusted_proxies (README_TRUSTED_PROXIES) "
                 "must be an integer >= 0, got '10.0.0.0/8, 192.168.0.0/16' (from the "
                 "environment): " + _NOT_ADDRESSES, id="env-networks"),
    pytest.param("*", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got '*' (from the environment): " + _NOT_ADDRESSES, id="env-star"),
    pytest.param(None, ["127.0.0.1", "::1"], "trusted_proxies (README_TRUSTED_PROXIES) must "
                 "be an int >= 0, got the list ['127.0.0.1', '::1']: " + _NOT_ADDRESSES,
                 id="argument-list"),
    # As an argument it also said "strings like '127.0.0.1' are read from
    # README_TRUSTED_PROXIES", which sent the user to a variable that refuses it as well.
    pytest.param(None, "127.0.0.1", "trusted_proxies (README_TRUSTED_PROXIES) must be an "
                 "int >= 0, got the str '127.0.0.1': " + _NOT_ADDRESSES, id="argument-str"),
    pytest.param(None, "true", "trusted_proxies (README_TRUSTED_PROXIES) must be an int >= 0, "
                 "got the str 'true': it is the number of reverse proxies in front of the "
                 "app, not a flag (1 for one load balancer, 0 for none)", id="argument-flag"),
    # Numbers and words are not taken for addresses: as before, no hint.
    pytest.param("1.5", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got '1.5' (from the environment)", id="env-fraction"),
    pytest.param("one", None, "trusted_proxies (README_TRUSTED_PROXIES) must be an integer "
                 ">= 0, got 'one' (from the environment)", id="env-word"),
])
def test_trusted_proxies_given_as_addresses_says_it_is_a_count(
        monkeypatch: pytest.MonkeyPatch, environment: Any, argument: Any,
        message: str) -> None:
    if environment is not None:
        monkeypatch.setenv("README_TRUSTED_PROXIES", environment)
    given = {} if argument is None else {"trusted_proxies": argument}
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None, **given)
    assert str(raised.value) == "readme_metrics: " + message
