"""house55: eight library modules at 381-394 lines split along a seam, their import paths
kept. Each name that moved is handed out at its old path as the very object of its new
module (not a copy, not a wrapper: a wrapper would be one call more per header or per
message on the request's path), and the names tests patch stay in the module whose code
reads them."""

from __future__ import annotations

import importlib

import pytest

# (old module, name there, new module, name there)
MOVED = [
    pytest.param("readme_metrics.har.headers", "_without_redacted_cookies",
                 "readme_metrics.har.cookie_values", "header_cookies_redacted",
                 id="headers-cookies"),
    pytest.param("readme_metrics.har.headers", "_keyless_name",
                 "readme_metrics.har.header_key_name", "keyless_name", id="headers-name"),
    pytest.param("readme_metrics.capture.asgi_receive", "receive_within",
                 "readme_metrics.capture.asgi_receive_within", "receive_within",
                 id="receive-within"),
    pytest.param("readme_metrics.capture.asgi_receive", "running_asyncio_loop",
                 "readme_metrics.capture.asgi_receive_within", "running_asyncio_loop",
                 id="receive-loop"),
    pytest.param("readme_metrics.har.scrub", "_base64_fields",
                 "readme_metrics.har.scrub_base64", "base64_fields", id="scrub-fields"),
    pytest.param("readme_metrics.har.scrub", "_masked_value",
                 "readme_metrics.har.scrub_base64", "masked_value", id="scrub-value"),
    pytest.param("readme_metrics.har.scrub", "masked_base64",
                 "readme_metrics.har.scrub_base64", "masked_base64", id="scrub-log"),
    pytest.param("readme_metrics.har.redaction_walk", "members_in",
                 "readme_metrics.har.redaction_strings", "members_in", id="walk-members"),
    pytest.param("readme_metrics.har.redaction.Redactor", "json_field",
                 "readme_metrics.har.redaction_fields", "json_field", id="walk-field"),
    pytest.param("readme_metrics.capture.asgi_servers", "uvicorn_half_closed",
                 "readme_metrics.capture.asgi_uvicorn", "uvicorn_half_closed",
                 id="servers-half-closed"),
    pytest.param("readme_metrics.capture.asgi_servers", "uvicorn_unread",
                 "readme_metrics.capture.asgi_uvicorn", "uvicorn_unread", id="servers-unread"),
    pytest.param("readme_metrics.delivery.uwsgi_stop", "END_CODE",
                 "readme_metrics.delivery.uwsgi_end", "END_CODE", id="uwsgi-code"),
    pytest.param("readme_metrics.delivery.uwsgi_stop", "_end_me",
                 "readme_metrics.delivery.uwsgi_end", "end_me", id="uwsgi-end"),
    pytest.param("readme_metrics.cors", "CORSRules",
                 "readme_metrics.cors_rules", "CORSRules", id="cors-rules"),
    pytest.param("readme_metrics.cors", "with_headers",
                 "readme_metrics.cors_rules", "with_headers", id="cors-with-headers"),
    pytest.param("readme_metrics.cors", "Headers",
                 "readme_metrics.cors_rules", "Headers", id="cors-headers"),
]


def _get(path: str, name: str) -> object:
    """``name`` off module ``path``, or off the class a ``module.Class`` path names."""
    if path.endswith(".Redactor"):
        owner = importlib.import_module(path.rpartition(".")[0]).Redactor
        return getattr(owner, name)
    return getattr(importlib.import_module(path), name)


@pytest.mark.parametrize(("old", "old_name", "new", "new_name"), MOVED)
def test_a_moved_name_is_the_same_object_at_its_old_path(
        old: str, old_name: str, new: str, new_name: str) -> None:
    assert _get(old, old_name) is getattr(importlib.import_module(new), new_name)


def test_the_exchange_asks_the_server_side_without_a_wrapper() -> None:
    """ASGIExchange's server-side answers are ServerSide's own methods (inherited, not
    delegated: no call more per message), and its slots are not declared twice."""
    from readme_metrics.capture.asgi_exchange import ASGIExchange
    from readme_metrics.capture.asgi_server_side import ServerSide

    assert ASGIExchange.__mro__[1] is ServerSide
    for method in ("_head_written", "_half_closed", "_server_transport", "_expect_readable",
                   "_status_refused", "_short_of_length", "_ended_within_send",
                   "_start_refused", "_record"):
        assert getattr(ASGIExchange, method) is ServerSide.__dict__[method], method
    slots = [slot for klass in ASGIExchange.__mro__ for slot in klass.__dict__.get(
        "__slots__", ())]
    assert len(slots) == len(set(slots)), slots
