"""review14's findings (an adversarial read of what landed between ba9ea7a and b4a6d12:
nesting, the grouping function's signature check, the log lines' scrubbing): each test of
a defect failed on main at b4a6d12 and passes with its fix; the others are probes that
held, kept so that they keep holding."""

from __future__ import annotations

import asyncio
import functools
import operator
from typing import Any
from unittest import mock

import pytest

from readme_metrics import MetricsApiConfig


def _grouping(request: Any) -> Any:
    return None


def _with_default(request: Any, strict: bool = False) -> Any:
    return None


async def _async_grouping(request: Any) -> Any:
    return None


class _Callable:
    def __call__(self, request: Any) -> Any:
        return None

    def method(self, request: Any) -> Any:
        return None


class _GroupOf(dict):  # type: ignore[type-arg]
    """A class called with the request (a Group mapping made of it)."""

    def __init__(self, request: Any) -> None:
        super().__init__(api_key=request)


class _Forwarding:
    """A callable whose other attributes are looked up in a dict (a settings-like object):
    ``__getattr__`` raises KeyError, not AttributeError, for ``__signature__``."""

    def __init__(self) -> None:
        self.__dict__["_values"] = {}

    def __getattr__(self, name: str) -> Any:
        return self._values[name]

    def __call__(self, request: Any) -> Any:
        return None


class _SignatureRaises:
    """A proxy whose ``__signature__`` cannot be read (werkzeug's LocalProxy unbound)."""

    @property
    def __signature__(self) -> Any:
        raise RuntimeError("working outside of the application context")

    def __call__(self, request: Any) -> Any:
        return None


def _star_args(function: Any) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)
    return wrapper


@pytest.mark.parametrize("function", [
    pytest.param(functools.partial(_with_default, strict=True), id="partial"),
    pytest.param(functools.partial(lambda user, request: None, "ana"), id="partial-positional"),
    pytest.param(_Callable().method, id="bound-method"),
    pytest.param(_Callable(), id="callable-object"),
    pytest.param(_GroupOf, id="class"),
    pytest.param(len, id="builtin"),
    pytest.param(operator.itemgetter("api_key"), id="itemgetter"),
    pytest.param(functools.lru_cache(maxsize=None)(_grouping), id="lru_cache"),
    pytest.param(functools.singledispatch(_grouping), id="singledispatch"),
    pytest.param(_star_args(lambda: None), id="decorated-star-args"),
    pytest.param(_async_grouping, id="async-def"),
    pytest.param(lambda request, strict=False: None, id="lambda-with-default"),
    pytest.param(mock.Mock(return_value=None), id="mock"),
    pytest.param(_Forwarding(), id="getattr-raises-keyerror"),
    pytest.param(_SignatureRaises(), id="signature-unreadable"),
])
def test_a_grouping_function_that_takes_the_request_is_accepted(function: Any) -> None:
    # A callable taking the request is taken as before the start-up check (4117e0d); one
    # whose signature cannot be read is not checked: reading it raised KeyError /
    # RuntimeError out of MetricsApiConfig() (and out of the first call's import).
    config = MetricsApiConfig(api_key="any-key", grouping_function=function)
    assert config.grouping_function is function


def test_an_imported_grouping_function_whose_signature_cannot_be_read_is_used(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from readme_metrics._dotted import ImportedOnFirstCall

    (tmp_path / "review14_forwarding.py").write_text(
        "class Grouping:\n"
        "    def __init__(self):\n"
        "        self.__dict__['_values'] = {}\n"
        "    def __getattr__(self, name):\n"
        "        return self._values[name]\n"
        "    def __call__(self, request):\n"
        "        return {'api_key': request}\n"
        "grouping = Grouping()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    function = ImportedOnFirstCall("review14_forwarding.grouping")
    assert function("caller-key") == {"api_key": "caller-key"}
    assert asyncio.iscoroutinefunction(_async_grouping)  # (the async case above is a def)
