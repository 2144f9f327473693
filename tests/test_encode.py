"""readme_metrics.delivery.encode: the same JSON with or without orjson (issue 11).

The ``fast`` extra (orjson) is optional: the stdlib path is tested directly and in a
fresh interpreter where orjson cannot be imported; tests that need orjson skip without it.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.delivery import encode
from tests.support.command import REPO_ROOT
from tests.support.processes import run_command

TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF,
                             categories=None), max_size=30)
SCALARS = (
    st.none() | st.booleans() | TEXT
    | st.integers() | st.integers(min_value=2**63, max_value=2**200)
    | st.integers(min_value=-(2**200), max_value=-(2**63))
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["\ud800", "a\udfff", "\x00\x1f\x7f", "\u2028\u2029", "é€😀"])
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=40,
)


def nested(depth: int) -> Any:
    node: Any = {"leaf": "x"}
    for index in range(depth):
        node = [node] if index % 2 else {"k": node}
    return node


def finite(node: Any) -> Any:
    """What a document reads back as: NaN and infinities are null."""
    if isinstance(node, float) and not math.isfinite(node):
        return None
    if isinstance(node, dict):
        return {key: finite(value) for key, value in node.items()}
    if isinstance(node, list):
        return [finite(value) for value in node]
    return node


def same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS)
def test_stdlib_path_gives_valid_json_of_the_document(document: Any) -> None:
    data = encode.stdlib_dumps(document)
    data.decode("utf-8")  # sendable as UTF-8
    assert same(json.loads(data), finite(document))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS)
def test_orjson_and_stdlib_give_the_same_documents(document: Any) -> None:
    pytest.importorskip("orjson")
    fast = encode._orjson_dumps(document)
    fast.decode("utf-8")
    assert same(json.loads(fast), json.loads(encode.stdlib_dumps(document)))


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(nested(300), id="deeper-than-orjson-allows"),
        pytest.param({"text": "é" * 3_000_000}, id="huge-string"),
        pytest.param({"n": 2**64, "m": -(2**70)}, id="beyond-64-bits"),
        pytest.param({"s": "lone \ud800 surrogate"}, id="lone-surrogate"),
        pytest.param({"a": float("nan"), "b": [float("inf"), -float("inf")]}, id="nan-inf"),
        pytest.param({"c": "\x00\x01\x1f\"\\\u2028"}, id="control-characters"),
    ],
)
def test_what_orjson_refuses_falls_back(document: Any) -> None:
    pytest.importorskip("orjson")
    fast, slow = encode._orjson_dumps(document), encode.stdlib_dumps(document)
    assert same(json.loads(fast), json.loads(slow))
    assert same(json.loads(slow), finite(document))


KEYS = (TEXT | st.integers() | st.integers(min_value=2**63, max_value=2**200)
        | st.booleans() | st.none() | st.floats(allow_nan=True, allow_infinity=True))
KEYED = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=KEYED)
def test_non_string_keys_give_the_same_documents_either_way(document: Any) -> None:
    # orjson refuses a key that is no str; the standard library writes it as text (2**70
    # as "1180591620717411303424", True as "true"). A NaN or infinite key made both
    # end in a RecursionError (stdlib_dumps called itself on _finite's copy, which
    # changed only values), dropping the log.
    fast, slow = encode.dumps(document), encode.stdlib_dumps(document)
    assert same(json.loads(fast), json.loads(slow))


def test_nan_and_infinite_keys_are_named_as_javascript_names_them() -> None:
    document = {float("nan"): 1, "a": {float("inf"): [float("-inf")], -float("inf"): 2}}
    expected = {"NaN": 1, "a": {"Infinity": [None], "-Infinity": 2}}
    assert json.loads(encode.stdlib_dumps(document)) == expected
    assert json.loads(encode.dumps(document)) == expected


def test_a_log_encodes_the_same_either_way() -> None:
    from readme_metrics.har import build_log
    from tests.support.exchanges import make_exchange

    log = build_log(make_exchange(response_body="é\x00😀".encode(), response_body_size=9))
    assert same(json.loads(encode.dumps(log)), json.loads(encode.stdlib_dumps(log)))
    assert same(json.loads(encode.stdlib_dumps(log)), log)


def test_the_encoder_is_orjson_when_installed() -> None:
    orjson = pytest.importorskip("orjson")
    assert f"orjson {orjson.__version__}" == encode.ENCODER
    assert encode._encode is encode._orjson_dumps


CHILD = """
import logging, sys
sys.modules["orjson"] = None  # as if the fast extra were not installed
logging.basicConfig(level=logging.DEBUG, format="%(name)s %(message)s", stream=sys.stdout)
from readme_metrics import MetricsApiConfig
from readme_metrics.delivery import Delivery, encode
assert encode._encode is encode.stdlib_dumps, encode._encode
# Named in the line that says where the logs go, on the logger the user chose.
config = MetricsApiConfig(api_key="any-key", grouping_function=lambda req: None,
                          metrics_api="http://127.0.0.1:9", logger=logging.getLogger("mine"))
Delivery(config, lambda item: {}).close()
print(encode.dumps({"a": float("nan"), "b": "\\ud800", "c": 2 ** 70}).decode())
"""


def test_without_orjson_the_stdlib_is_chosen_and_named_in_the_debug_log() -> None:
    done = run_command([sys.executable, "-c", CHILD], capture_output=True, text=True,
                       cwd=str(REPO_ROOT), timeout=60,
                       env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines.count("mine readme_metrics: logs are posted to http://127.0.0.1:9 directly "
                       "(kept-alive sockets); JSON encoder: json (standard library)") == 1, lines
    assert json.loads(lines[-1]) == {"a": None, "b": "\ud800", "c": 2 ** 70}


# -- the batch's array, in pieces (encode.array_body) -----------------------------------

PART_SIZES = st.lists(st.one_of(st.integers(1, 300), st.integers(16 * 1024 - 2, 16 * 1024 + 2),
                                st.integers(20_000, 70_000)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(sizes=PART_SIZES)
def test_the_pieces_of_a_batch_are_its_json_array(sizes: list[int]) -> None:
    parts = [(b"%d" % index) * (size // len(b"%d" % index) + 1) for index, size in
             enumerate(sizes)]
    body = encode.array_body(parts)
    joined = b"[" + b",".join(parts) + b"]"
    assert b"".join(body.pieces) == bytes(body) == joined
    assert len(body) == len(joined)
    for piece in body.pieces:
        # A large log is sent as it is, never copied; the rest is joined in small pieces.
        assert any(piece is part for part in parts) or len(piece) <= 64 * 1024
    large = [part for part in parts if len(part) >= 16 * 1024]
    assert [piece for piece in body.pieces if any(piece is part for part in large)] == large


def test_a_batch_of_small_logs_is_one_piece() -> None:
    parts = [encode.dumps({"_id": str(index), "text": "x" * 2600}) for index in range(10)]
    body = encode.array_body(parts)
    assert len(body.pieces) == 1
    assert json.loads(bytes(body)) == [json.loads(part) for part in parts]
    assert encode.array_body([]).pieces == (b"[]",)
