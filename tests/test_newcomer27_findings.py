"""newcomer27: two first-hour messages that misled (found by newcomer26).

1. A whole Authorization value given as the key (``"Basic cmRtZV94eXo6"``,
   ``"Bearer rdme_xyz"``) was refused as "looks like a placeholder (such as '<your
   ReadMe API key>')", though it is no placeholder: it now says it is an Authorization
   header's value, and that the key alone is wanted (for Basic, SPEC 5's
   ``base64("{api_key}:")``: the decoded part before ':'). The value is never echoed.
2. A README_API_URL whose host does not resolve (``https://nowhere.invalid``): the
   docs-URL lookup's start-up warning said only "ConnectionError", where the POSTs'
   warning said the name did not resolve and what to check. A ``.invalid`` name never
   resolves (RFC 6761) and sends nothing on the network.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig
from readme_metrics.docs_url import DocsUrl
from readme_metrics.key_checks import looks_like_a_placeholder, names_a_placeholder
from tests.test_docs_url import Records, clock, make_config, records  # noqa: F401

AUTHORIZATION_VALUES = ["Basic cmRtZV94eXo6", "Bearer rdme_xyz", "basic cmRtZV94eXo6",
                        "Authorization: Basic cmRtZV94eXo6", "BEARER  rdme_abc123"]


def _refused(key: str) -> str:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key=key, grouping_function=lambda request: None)
    return str(raised.value)


@pytest.mark.parametrize("value", AUTHORIZATION_VALUES)
def test_an_authorization_value_is_not_called_a_placeholder(value: str) -> None:
    message = _refused(value)
    assert "placeholder" not in message, message
    assert "Authorization header" in message, message
    assert "the key alone" in message, message
    token = value.split()[-1]
    assert token not in message, message  # never echoed: the token may be the real key
    if value.lower().split()[-2] == "basic":
        assert "base64-decoded" in message and "before ':'" in message, message


@pytest.mark.parametrize("value", AUTHORIZATION_VALUES[:2])
def test_an_authorization_value_in_the_variable_is_named_by_it(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("README_API_KEY", value)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(grouping_function=lambda request: None)
    message = str(raised.value)
    assert "README_API_KEY" in message and "Authorization header" in message, message


@pytest.mark.parametrize("placeholder", ["<your ReadMe API key>", "your api key",
                                         "rdme_ xxxx", "Bearer <token>", "Basic rdme_...",
                                         "Bearer YOUR_API_KEY"])
def test_real_placeholders_keep_their_wording(placeholder: str) -> None:
    assert "looks like a placeholder (such as '<your ReadMe API key>')" in _refused(
        placeholder)


@given(scheme=st.sampled_from(["Basic", "Bearer", "bearer", "BASIC"]),
       token=st.text(st.characters(min_codepoint=33, max_codepoint=126,
                                   exclude_characters="<>{}[]$%#"),
                     min_size=4, max_size=40))
def test_no_authorization_value_is_echoed(scheme: str, token: str) -> None:
    assume(not looks_like_a_placeholder(token) and not names_a_placeholder(token))
    message = _refused(f"{scheme} {token}")
    assert "Authorization header" in message, message
    # (a token that is a word of the message itself, "ReadMe", is no echo)
    assert token not in message or token in _refused(f"{scheme} Zq9Zq9Zq9"), message


def test_a_docs_url_host_that_does_not_resolve_says_so(
        records: Records, clock: object) -> None:  # noqa: F811
    config = make_config("https://nowhere.invalid", records)
    DocsUrl(config).base()
    message = records.wait_for(1, timeout=60)[0].getMessage()
    assert message.startswith("readme_metrics: could not look up the documentation URL "
                              "(https://nowhere.invalid/v1: ConnectionError: "), message
    assert "Failed to resolve 'nowhere.invalid'" in message, message
    assert "This machine cannot reach nowhere.invalid" in message, message
    assert "a name server that does not resolve it" in message, message
    assert "readme_api_url (README_API_URL)" in message, message
    assert message.endswith("Set base_log_url (README_BASE_LOG_URL) to skip this lookup."), \
        message
    assert config.api_key not in message
