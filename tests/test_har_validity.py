"""readme_metrics.har: any input gives a valid log, and the checker can tell (SPEC
section 4): ``assert_valid_log`` rejects each kind of broken log, and hypothesis builds
logs from random bodies, multipart forms, headers, queries and redactors.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any, Callable, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import build_log
from readme_metrics.redaction import Redactor
from tests.support.exchanges import MULTIPART, MULTIPART_CT, make_exchange, post, sent_log
from tests.support.har_check import assert_valid_log

# -- assert_valid_log can fail -------------------------------------------------------------


def _entry(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


MUTATIONS: list[Any] = [
    pytest.param(lambda log: log.update(_id=str(uuid.uuid1())), id="id-not-uuid4"),
    pytest.param(lambda log: log["group"].update(id="rdme_key_1234"), id="group-not-masked"),
    pytest.param(lambda log: log.update(extra=1), id="unknown-top-level-key"),
    pytest.param(lambda log: log["request"]["log"]["creator"].update(name="x"), id="creator"),
    pytest.param(lambda log: _entry(log).update(startedDateTime="2026-11-21T10:31:43Z"),
                 id="date-without-ms"),
    pytest.param(lambda log: _entry(log).update(time=1.0), id="time-not-sum"),
    pytest.param(lambda log: _entry(log)["timings"].update(wait=-1), id="negative-timing"),
    pytest.param(lambda log: _entry(log)["request"].update(headersSize=0), id="headers-size"),
    pytest.param(lambda log: _entry(log)["request"]["headers"].append(
        {"name": "Authorization", "value": "Bearer x"}), id="authorization-in-clear"),
    pytest.param(lambda log: _entry(log)["request"]["cookies"].append(
        {"name": "sid", "value": "x"}), id="cookie-in-clear"),
    pytest.param(lambda log: _entry(log).update(extra=1), id="schema-extra-field"),
    pytest.param(lambda log: _entry(log)["request"].pop("method"), id="schema-missing-field"),
    pytest.param(lambda log: _entry(log)["response"].update(status="200"), id="schema-type"),
    pytest.param(lambda log: _entry(log).update(cache={"comment": "x"}), id="cache-not-empty"),
    pytest.param(lambda log: _entry(log)["request"].update(
        postData={"mimeType": "text/plain", "text": "x"}), id="post-data-without-body"),
    pytest.param(lambda log: _entry(log)["response"]["content"].update(mimeType="text/xml"),
                 id="content-mime-type"),
    pytest.param(lambda log: _entry(log)["response"].update(redirectURL="/x"),
                 id="redirect-without-location"),
    pytest.param(lambda log: log["request"]["log"]["entries"].append(
        copy.deepcopy(_entry(log))), id="two-entries"),
]


@pytest.mark.parametrize("mutate", MUTATIONS)
def test_assert_valid_log_rejects(mutate: Callable[[dict[str, Any]], Any]) -> None:
    log = sent_log(make_exchange())
    mutate(log)
    with pytest.raises(AssertionError):
        assert_valid_log(log)


def test_assert_valid_log_accepts_custom_fields() -> None:
    log = sent_log(make_exchange())
    log["_requestId"] = "abc"
    _entry(log)["_custom"] = {"any": "thing"}
    _entry(log)["comment"] = "fine"
    assert_valid_log(log)


# -- properties ---------------------------------------------------------------------------


HEADER_NAMES = st.sampled_from(
    ["Content-Type", "Cookie", "Set-Cookie", "Authorization", "X-Api-Key", "Location",
     "Accept", "password"]
) | st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True)
LATIN1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", MULTIPART_CT,
     "multipart/form-data", "text/plain; charset=utf-16", "text/html; charset=bogus",
     "text/plain; charset=utf-7", "text/plain; charset=unicode_escape",
     "image/png", "application/problem+json", ""]
) | LATIN1
QUERY = st.lists(st.sampled_from(list("ab=&%+;/?é") + ["%2", "%41", "%FF", "%C3%A9"]),
                 max_size=20).map("".join)
REDACTORS = st.sampled_from(
    [None, Redactor(), Redactor(["password", "a", "x-api-key"]), Redactor((), ["b", "id"]),
     Redactor(["a.b", "cookie"], ["password"])]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=200) | st.sampled_from([MULTIPART, b'{"password": "x"}']),
    extra=st.sampled_from([0, 0, 5, -1]),
    request_type=st.none() | CONTENT_TYPES,
    response_type=st.none() | CONTENT_TYPES,
    response_body=st.binary(max_size=100),
    headers=st.lists(st.tuples(HEADER_NAMES, LATIN1), max_size=6),
    query=QUERY,
    omitted=st.booleans(),
    redactor=REDACTORS,
    max_body_bytes=st.sampled_from([0, 16, 262144]),
)
def test_any_input_gives_a_valid_log(
    body: bytes, extra: int, request_type: Optional[str], response_type: Optional[str],
    response_body: bytes, headers: list[tuple[str, str]], query: str, omitted: bool,
    redactor: Optional[Redactor], max_body_bytes: int,
) -> None:
    request_headers = list(headers)
    if request_type is not None:
        request_headers.append(("Content-Type", request_type))
    response_headers = list(headers)
    if response_type is not None:
        response_headers.append(("Content-Type", response_type))
    size = -1 if extra == -1 else len(body) + extra
    exchange = make_exchange(
        method="POST", url=f"http://h:1/p?{query}", request_headers=request_headers,
        request_body=body, request_body_size=size, response_headers=response_headers,
        response_body=response_body, response_body_size=len(response_body),
        response_body_omitted=omitted,
    )
    log = build_log(exchange, redactor=redactor, max_body_bytes=max_body_bytes)
    wire = json.dumps(log, ensure_ascii=False).encode("utf-8")  # must be sendable
    assert_valid_log(json.loads(wire))


@st.composite
def multipart_bodies(draw: st.DrawFn) -> bytes:
    """Well-formed and broken multipart bodies with random names, charsets and files."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF,
                                          exclude_characters='"\\'), max_size=8))
        head = f'Content-Disposition: form-data; name="{name}"'
        if draw(st.booleans()):
            head += f'; filename="{draw(st.text(max_size=6))}"'
        charset = draw(st.sampled_from([None, None, "utf-7", "utf-7", "utf-8", "latin-1",
                                        "bogus"]))
        if charset is not None:
            head += f"\r\nContent-Type: text/plain; charset={charset}"
        value = draw(st.sampled_from([b"+2AA-", b"password", b"\xff"]) | st.binary(max_size=20))
        parts.append(b"--XyZ\r\n" + head.encode("utf-8", "surrogatepass") + b"\r\n\r\n"
                     + value + b"\r\n")
    body = b"".join(parts) + (b"--XyZ--\r\n" if draw(st.booleans()) else b"")
    truncate = draw(st.sampled_from([False, False, True]))
    return body[:draw(st.integers(0, len(body)))] if truncate else body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=multipart_bodies(), redactor=REDACTORS)
def test_any_multipart_gives_a_valid_log(body: bytes, redactor: Optional[Redactor]) -> None:
    exchange = post(MULTIPART_CT, body, size=len(body) + 1)
    log = build_log(exchange, redactor=redactor)
    assert_valid_log(json.loads(json.dumps(log, ensure_ascii=False).encode("utf-8")))
