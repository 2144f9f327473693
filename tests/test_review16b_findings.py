"""review16b: defects found in today's leak4, audit3 (ASGI companions) and newcomer2 changes.

* A URL option given without its scheme and holding a user and password
  (``user:pw@metrics.example.com``): the error echoed it in clear in its "got '...'"
  part, while newcomer2's own hint after it showed it as ``***@``.
"""

from __future__ import annotations

from typing import Optional

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics._http import shown_url

PASSWORD = "s3cretpw"


@pytest.mark.parametrize("value", [
    pytest.param(f"user:{PASSWORD}@metrics.example.com", id="no-scheme"),
    pytest.param(f"user:{PASSWORD}@127.0.0.1:8001", id="no-scheme-loopback-port"),
    pytest.param(f"user:{PASSWORD}@[::1]:8001", id="no-scheme-ipv6"),
    pytest.param(f"http:/user:{PASSWORD}@metrics.example.com", id="one-slash"),
])
@pytest.mark.parametrize("option", ["metrics_api", "base_log_url", "readme_api_url"])
def test_a_url_option_without_scheme_never_shows_its_password(option: str,
                                                              value: str) -> None:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_review16b_key", grouping_function=lambda r: None,
                         **{option: value})
    assert PASSWORD not in str(raised.value)
    assert "***@" in str(raised.value)


@pytest.mark.parametrize(("url", "shown"), [
    ("user:pw@h.example/x", "***@h.example/x"),
    ("user@h.example", "***@h.example"),
    ("http:/user:pw@h.example", "http:/***@h.example"),
    ("[::1]:80", None),
    ("h.example/a@b", None),
    ("/p?next=a@b", None),
    ("mailto-like:/p@x/y", "mailto-like:/***@x/y"),
    ("https://[::1]:80/a@b", None),
    ("https://u:p%40w@[::1]:80/", "https://***@[::1]:80/"),
])
def test_shown_url_without_scheme(url: str, shown: Optional[str]) -> None:
    assert shown_url(url) == (url if shown is None else shown)
