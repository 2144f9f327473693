"""review83: an adversarial read of the session's smaller landings (odds3, newcomer17,
the lead's grouping and -n 4 changes, speed6).

An unsigned 64-bit id has 20 digits (18446744073709551615), one more than the signed 19
that MAX_ID_DIGITS was set to: a grouping function returning such an id (a MySQL
BIGINT UNSIGNED key, a uint64 snowflake) was not told it looked like a user's id, yet
that id is masked wherever its digits occur in the caller's logs.

The "no key yet?" hint of the missing and the placeholder key's errors named no key:
followed as written after README's quick start (run with its placeholder), it failed
again with the same error.
"""

from __future__ import annotations

import pytest

from readme_metrics import MetricsApiConfig

# The number-key warning's bound (20 digits, an unsigned 64-bit id's most): its cases are
# test_newcomer16_findings.test_a_numeric_key_longer_than_any_id_is_not_warned_about.


def test_the_no_key_yet_hint_followed_as_written_gets_past_the_placeholder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """README's quick starts run the app with `README_API_KEY='<your ReadMe API key>'`;
    copied as written, the placeholder is refused, and the error says "no key yet? any key
    works against the local collector: `readme-metrics collect`, then
    README_METRICS_SERVER=http://127.0.0.1:8001". Done as said (the server set, the
    placeholder still the key), the same error came again, hint and all: "any key" did
    not take the one given. The hint now sets a key too, and followed as written, the
    configuration is made."""
    import re

    monkeypatch.setenv("README_API_KEY", "<your ReadMe API key>")
    with pytest.raises(ValueError) as refused:
        MetricsApiConfig(grouping_function=lambda request: None)
    hint = str(refused.value).partition("no key yet?")[2]
    assert hint, refused.value
    told = dict(re.findall(r"\b(README_[A-Z_]+)=([^\s`)]+)", hint))
    assert told.get("README_METRICS_SERVER") == "http://127.0.0.1:8001", hint
    for name, value in told.items():
        monkeypatch.setenv(name, value)
    config = MetricsApiConfig(grouping_function=lambda request: None)
    assert config.METRICS_API == "http://127.0.0.1:8001"
