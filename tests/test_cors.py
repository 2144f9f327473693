"""CORSMiddleware (SPEC section 8): preflights, actual responses, Vary, origin matching."""

from __future__ import annotations

import logging
import re
from typing import Any, Callable
from wsgiref.validate import validator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.middleware.lint import LintMiddleware

from readme_metrics.cors import CORSMiddleware, normalise_origin
from tests.support.contract import documentation_url, hit
from tests.support.fake_api import Collector
from tests.support.lint import validated_inside_lint
from tests.support.strategies import ScriptedApp, scripted_apps
from tests.support.wsgi import ThreadedWSGIServer, WSGIResult, run_wsgi, wsgi_environ

# Any WSGI or HTTP complaint from wsgiref.validate or werkzeug's lint fails the test.
pytestmark = [
    pytest.mark.filterwarnings("error::wsgiref.validate.WSGIWarning"),
    pytest.mark.filterwarnings("error::werkzeug.middleware.lint.WSGIWarning"),
    pytest.mark.filterwarnings("error::werkzeug.middleware.lint.HTTPWarning"),
]

SITE = "https://example.com"
ADDED = {"access-control-allow-origin", "access-control-allow-credentials",
         "access-control-expose-headers", "vary"}


def checked(middleware: Any) -> Any:
    """The middleware as a strict server sees it, with the app checked from inside too."""
    return validator(LintMiddleware(middleware))


def cors(app: Any, **options: Any) -> Any:
    options.setdefault("allowed_origins", [SITE])
    return checked(CORSMiddleware(validated_inside_lint(app), **options))


def call(app: Any, method: str = "GET", **headers: str) -> WSGIResult:
    return run_wsgi(app, wsgi_environ(method, "/things", {
        name.replace("_", "-"): value for name, value in headers.items()
    }))


def plain_app() -> ScriptedApp:
    return ScriptedApp("200 OK", [("Content-Type", "text/plain"), ("X-App", "1")], [b"hello"])


# -- origin matching -------------------------------------------------------------------


@pytest.mark.parametrize("origin, allowed", [
    pytest.param("https://example.com", True, id="exact"),
    pytest.param("https://EXAMPLE.com", True, id="host-case"),
    pytest.param("HTTPS://example.com", True, id="scheme-case"),
    pytest.param("https://example.com:443", True, id="default-port"),
    pytest.param("https://evil-example.com", False, id="prefix-look-alike"),
    pytest.param("https://example.com.evil.com", False, id="suffix-look-alike"),
    pytest.param("https://sub.example.com", False, id="subdomain"),
    pytest.param("https://example.co", False, id="shorter"),
    pytest.param("http://example.com", False, id="other-scheme"),
    pytest.param("https://example.com:8443", False, id="other-port"),
    pytest.param("https://example.com@evil.com", False, id="userinfo"),
    pytest.param("https://evil.com#https://example.com", False, id="fragment"),
    pytest.param("https://example.com/", False, id="path"),
    pytest.param("https://example.com https://evil.com", False, id="origin-list"),
    pytest.param("null", False, id="null"),
    pytest.param("", False, id="empty"),
    pytest.param("example.com", False, id="no-scheme"),
    pytest.param("https://example.com:99999", False, id="port-out-of-range"),
])
def test_origin_matching_is_exact(origin: str, allowed: bool) -> None:
    result = call(cors(plain_app()), Origin=origin)
    assert result.status == "200 OK"
    assert result.header("Access-Control-Allow-Origin") == ([origin] if allowed else [])


@pytest.mark.parametrize("configured, origin", [
    pytest.param("https://Example.COM:443/", "https://example.com", id="normalised-config"),
    pytest.param("http://localhost:8080", "http://localhost:8080", id="port"),
    pytest.param("http://127.0.0.1:80", "http://127.0.0.1", id="http-default-port"),
    pytest.param("http://[::1]:3000", "http://[::1]:3000", id="ipv6"),
    pytest.param("https://bücher.example", "https://xn--bcher-kva.example", id="idn"),
])
def test_configured_origins_are_normalised(configured: str, origin: str) -> None:
    result = call(cors(plain_app(), allowed_origins=[configured]), Origin=origin)
    assert result.header("Access-Control-Allow-Origin") == [origin]


def test_normalise_origin() -> None:
    assert normalise_origin("HTTP://Example.com:80") == "http://example.com"
    assert normalise_origin("https://example.com:080") == "https://example.com:80"
    assert normalise_origin("https://example.com/x") is None


# -- preflight -------------------------------------------------------------------------


def test_preflight_from_allowed_origin_is_answered_without_the_app() -> None:
    app = plain_app()
    result = call(cors(app, max_age=120), "OPTIONS", Origin=SITE,
                  Access_Control_Request_Method="PUT",
                  Access_Control_Request_Headers="content-type, x-api-key")
    assert app.calls == 0
    assert result.status == "204 No Content"
    assert result.body == b""
    assert dict(result.headers) == {
        "Access-Control-Allow-Origin": SITE,
        "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
        "Access-Control-Allow-Headers": "content-type, x-api-key",
        "Access-Control-Max-Age": "120",
        "Vary": "Origin",
    }  # no Content-Length: RFC 9110 (8.6) forbids it on a 204


@pytest.mark.parametrize("options, request_headers, expected", [
    pytest.param({}, {}, {"Access-Control-Allow-Headers": None,
                          "Access-Control-Max-Age": "600"}, id="no-headers-requested"),
    pytest.param({"allow_credentials": True}, {},
                 {"Access-Control-Allow-Credentials": "true"}, id="credentials"),
    pytest.param({"allow_methods": ["get", "Post"]}, {},
                 {"Access-Control-Allow-Methods": "GET, POST"}, id="methods-list"),
    pytest.param({"allow_methods": "*"}, {"Access-Control-Request-Method": "PURGE"},
                 {"Access-Control-Allow-Methods": "PURGE"}, id="methods-echo"),
    pytest.param({"allow_headers": "X-Api-Key, Content-Type"},
                 {"Access-Control-Request-Headers": "x-other"},
                 {"Access-Control-Allow-Headers": "X-Api-Key, Content-Type"},
                 id="headers-list"),
    pytest.param({"allowed_origins": "*"}, {}, {"Access-Control-Allow-Origin": "*"},
                 id="wildcard"),
    pytest.param({"allowed_origins": "*", "allow_credentials": True}, {},
                 {"Access-Control-Allow-Origin": SITE,
                  "Access-Control-Allow-Credentials": "true"}, id="wildcard-credentials"),
    pytest.param({"expose_headers": ["X-Total"]}, {},
                 {"Access-Control-Expose-Headers": None}, id="no-expose-on-preflight"),
])
def test_preflight_headers(options: dict[str, Any], request_headers: dict[str, str],
                           expected: dict[str, str | None]) -> None:
    headers = {"Origin": SITE, "Access-Control-Request-Method": "POST", **request_headers}
    app = plain_app()
    result = run_wsgi(cors(app, **options), wsgi_environ("OPTIONS", "/", headers))
    assert result.status == "204 No Content"
    assert app.calls == 0
    for name, value in expected.items():
        assert result.header(name) == ([] if value is None else [value]), name
    if "allow_credentials" not in options:
        assert result.header("Access-Control-Allow-Credentials") == []


@pytest.mark.parametrize("origin", [
    pytest.param("https://evil.com", id="other"),
    pytest.param("https://evil-example.com", id="look-alike"),
    pytest.param("null", id="null"),
])
def test_preflight_from_other_origin_reaches_the_app_unchanged_but_for_vary(
        origin: str) -> None:
    def answer() -> ScriptedApp:
        return ScriptedApp("405 Method Not Allowed",
                           [("Content-Type", "text/plain"), ("Allow", "GET")], [b"no"])

    headers = {"Origin": origin, "Access-Control-Request-Method": "DELETE"}
    bare = run_wsgi(validator(answer()), wsgi_environ("OPTIONS", "/", headers))
    app = answer()
    wrapped = run_wsgi(cors(app), wsgi_environ("OPTIONS", "/", headers))
    assert app.calls == 1
    assert (wrapped.status, wrapped.body) == (bare.status, bare.body)
    assert wrapped.headers == bare.headers + [("Vary", "Origin")]


@pytest.mark.parametrize("method, request_headers", [
    pytest.param("P UT", "", id="method-not-token"),
    pytest.param("PUT", "x-ok, bad header", id="header-not-token"),
    pytest.param("PUT", "x-ok, (x)", id="header-separator"),
])
def test_malformed_preflight_is_refused(method: str, request_headers: str) -> None:
    app = plain_app()
    result = call(cors(app), "OPTIONS", Origin=SITE, Access_Control_Request_Method=method,
                  Access_Control_Request_Headers=request_headers)
    assert app.calls == 0
    assert result.status == "400 Bad Request"
    assert not any(name.lower().startswith("access-control") for name, _ in result.headers)
    assert result.header("Vary") == ["Origin"]


def test_options_without_request_method_is_an_actual_request() -> None:
    app = plain_app()
    result = call(cors(app), "OPTIONS", Origin=SITE)
    assert app.calls == 1
    assert result.status == "200 OK"
    assert result.header("Access-Control-Allow-Origin") == [SITE]


# -- actual requests -------------------------------------------------------------------


@pytest.mark.parametrize("options, expected", [
    pytest.param({}, [("Access-Control-Allow-Origin", SITE), ("Vary", "Origin")],
                 id="default"),
    pytest.param({"allow_credentials": True},
                 [("Access-Control-Allow-Origin", SITE),
                  ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")],
                 id="credentials"),
    pytest.param({"expose_headers": "X-Total, X-Request-Id"},
                 [("Access-Control-Allow-Origin", SITE),
                  ("Access-Control-Expose-Headers", "X-Total, X-Request-Id"),
                  ("Vary", "Origin")], id="expose"),
    pytest.param({"allowed_origins": ["*"]},
                 [("Access-Control-Allow-Origin", "*"), ("Vary", "Origin")], id="wildcard"),
    pytest.param({"allowed_origins": ["*"], "allow_credentials": True},
                 [("Access-Control-Allow-Origin", SITE),
                  ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")],
                 id="wildcard-never-with-credentials"),
])
def test_actual_request_headers(options: dict[str, Any],
                                expected: list[tuple[str, str]]) -> None:
    app = plain_app()
    result = call(cors(app, **options), "POST", Origin=SITE)
    assert app.calls == 1
    assert result.body == b"hello"
    assert result.headers == app.headers + expected


@pytest.mark.parametrize("app_vary, expected", [
    pytest.param([], [("Vary", "Origin")], id="none"),
    pytest.param([("Vary", "Accept-Encoding")], [("Vary", "Accept-Encoding, Origin")],
                 id="extended"),
    pytest.param([("vary", "Cookie,Accept")], [("vary", "Cookie,Accept, Origin")],
                 id="name-case-kept"),
    pytest.param([("Vary", "accept, ORIGIN")], [("Vary", "accept, ORIGIN")],
                 id="origin-already"),
    pytest.param([("Vary", "Accept"), ("Vary", "Origin")],
                 [("Vary", "Accept"), ("Vary", "Origin")], id="origin-in-second"),
    pytest.param([("Vary", "Accept"), ("Vary", "Cookie")],
                 [("Vary", "Accept, Origin"), ("Vary", "Cookie")], id="two-headers"),
    pytest.param([("Vary", "*")], [("Vary", "*")], id="star"),
    pytest.param([("Vary", "")], [("Vary", "Origin")], id="empty"),
])
def test_vary_is_kept_and_extended(app_vary: list[tuple[str, str]],
                                   expected: list[tuple[str, str]]) -> None:
    app = ScriptedApp("200 OK", [("Content-Type", "text/plain"), *app_vary], [b"x"])
    result = call(cors(app), Origin=SITE)
    assert [item for item in result.headers if item[0].lower() == "vary"] == expected
    assert result.header("Access-Control-Allow-Origin") == [SITE]


def test_headers_the_app_set_itself_win() -> None:
    app = ScriptedApp("200 OK", [("Content-Type", "text/plain"),
                                 ("access-control-allow-origin", "https://app.example")], [])
    result = call(cors(app, expose_headers="X-Total"), Origin=SITE)
    assert result.header("Access-Control-Allow-Origin") == ["https://app.example"]
    assert result.header("Access-Control-Expose-Headers") == ["X-Total"]


def test_app_header_list_is_not_mutated() -> None:
    shared = [("Content-Type", "text/plain")]

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", shared)
        return [b""]

    call(cors(app), Origin=SITE)
    assert shared == [("Content-Type", "text/plain")]


@pytest.mark.parametrize("mode", ["write", "error_page", "raise_during", "raise_before"])
def test_error_paths_and_write_keep_cors_headers(mode: str) -> None:
    app = ScriptedApp("500 Internal Server Error", [("Content-Type", "text/plain")],
                      [b"a", b"b"], mode)
    bare = run_wsgi(validator(ScriptedApp(app.status, app.headers, app.chunks, mode)),
                    wsgi_environ(headers={"Origin": SITE}))
    result = call(cors(app), Origin=SITE)
    assert result.error_repr == bare.error_repr
    assert result.body == bare.body
    if bare.status is not None:
        assert result.status == bare.status
        assert result.header("Access-Control-Allow-Origin") == [SITE]
    assert app.closed == (0 if mode == "raise_before" else 1)


@pytest.mark.parametrize("allowed, origin", [
    pytest.param([SITE], None, id="no-origin"),
    pytest.param([SITE], "https://evil.com", id="other"),
    pytest.param([SITE], "null", id="null"),
    pytest.param([SITE], "not an origin", id="malformed"),
    pytest.param(["*"], None, id="wildcard-no-origin"),
    pytest.param(["*"], "null", id="wildcard-null"),
])
def test_every_answer_varies_on_origin_where_origins_are_configured(
        allowed: list[str], origin: str | None) -> None:
    """An answer without CORS headers depends on Origin as much as one with them: cached
    without ``Vary: Origin``, it would be served to an allowed origin, which the browser
    then refuses (Fetch, "CORS protocol and HTTP caches")."""
    app = plain_app()
    headers = {} if origin is None else {"Origin": origin}
    assert call(cors(app, allowed_origins=allowed), **headers).headers == (
        app.headers + [("Vary", "Origin")])


def test_with_no_origin_configured_nothing_is_touched() -> None:
    """No origin is ever allowed: the answer does not depend on Origin."""
    app = plain_app()
    for headers in ({}, {"Origin": SITE}):
        assert call(cors(app, allowed_origins=[]), **headers).headers == app.headers


# -- configuration ---------------------------------------------------------------------


def test_configuration_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED", " https://a.example , http://b.example:8080 ")
    monkeypatch.setenv("CORS_ALLOW_CREDENTIALS", "true")
    monkeypatch.setenv("CORS_ALLOW_METHODS", "GET,POST")
    monkeypatch.setenv("CORS_ALLOW_HEADERS", "X-Api-Key")
    monkeypatch.setenv("CORS_EXPOSE_HEADERS", "X-Total")
    monkeypatch.setenv("CORS_MAX_AGE", "30")
    middleware = CORSMiddleware(plain_app())
    assert middleware.allowed_origins == {"https://a.example", "http://b.example:8080"}
    assert middleware.allow_any is False
    assert middleware.allow_credentials is True
    assert middleware.allow_methods == ["GET", "POST"]
    assert middleware.allow_headers == ["X-Api-Key"]
    assert middleware.expose_headers == ["X-Total"]
    assert middleware.max_age == 30


def test_settings_are_read_apart_from_the_middleware(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the options is cors_settings' job, answering requests cors.py's; every name
    cors.py offered before stays importable from it."""
    import readme_metrics.cors as cors_module
    from readme_metrics.cors_settings import CORSSettings
    from readme_metrics.cors_settings import normalise_origin as settings_normalise

    monkeypatch.setenv("CORS_ALLOWED", "https://A.example:443")
    monkeypatch.setenv("CORS_MAX_AGE", "30")
    settings = CORSSettings.read(allow_methods="get")
    assert settings == CORSSettings(
        allow_any=False, allowed_origins=frozenset({"https://a.example"}),
        allow_credentials=False, allow_methods=["GET"], allow_headers=["*"],
        expose_headers=[], max_age=30)
    middleware = CORSMiddleware(plain_app(), allow_methods="get")
    assert {name: getattr(middleware, name) for name in vars(settings)} == vars(settings)
    assert normalise_origin is settings_normalise
    assert {"CORSMiddleware", "Headers", "normalise_origin"} <= set(vars(cors_module))


def test_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED", "https://env.example")
    monkeypatch.setenv("CORS_ALLOW_CREDENTIALS", "true")
    monkeypatch.setenv("CORS_MAX_AGE", "30")
    middleware = CORSMiddleware(plain_app(), ["https://arg.example"],
                                allow_credentials=False, max_age=5)
    assert middleware.allowed_origins == {"https://arg.example"}
    assert (middleware.allow_credentials, middleware.max_age) == (False, 5)


def test_defaults_allow_no_origin() -> None:
    middleware = CORSMiddleware(plain_app())
    assert middleware.allowed_origins == frozenset() and not middleware.allow_any
    app = plain_app()
    result = call(checked(CORSMiddleware(app)), "OPTIONS", Origin=SITE,
                  Access_Control_Request_Method="GET")
    assert app.calls == 1 and result.headers == app.headers


OTHER = "https://other.example"
PREFLIGHT = {"Origin": OTHER, "Access_Control_Request_Method": "PUT"}


@pytest.mark.parametrize("option, value, request_headers, expected", [
    pytest.param("allowed_origins", [OTHER], {"Origin": OTHER},
                 {"Access-Control-Allow-Origin": OTHER}, id="allowed_origins"),
    pytest.param("allow_any", True, {"Origin": OTHER},
                 {"Access-Control-Allow-Origin": "*"}, id="allow_any"),
    pytest.param("allow_credentials", True, {"Origin": SITE},
                 {"Access-Control-Allow-Credentials": "true"}, id="allow_credentials"),
    pytest.param("expose_headers", "X-Total", {"Origin": SITE},
                 {"Access-Control-Expose-Headers": "X-Total"}, id="expose_headers"),
    pytest.param("allow_methods", ["put"], {**PREFLIGHT, "Origin": SITE},
                 {"Access-Control-Allow-Methods": "PUT"}, id="allow_methods"),
    pytest.param("allow_headers", "X-Api-Key", {**PREFLIGHT, "Origin": SITE},
                 {"Access-Control-Allow-Headers": "X-Api-Key"}, id="allow_headers"),
    pytest.param("max_age", 7, {**PREFLIGHT, "Origin": SITE},
                 {"Access-Control-Max-Age": "7"}, id="max_age"),
])
def test_an_option_set_after_construction_takes_effect(
        option: str, value: Any, request_headers: dict[str, str],
        expected: dict[str, str]) -> None:
    """The options are public attributes: setting one was ignored (the requests read the
    rules made at construction from a copy). Now the next request follows it."""
    middleware = CORSMiddleware(plain_app(), allowed_origins=[SITE])
    method = "OPTIONS" if "Access_Control_Request_Method" in request_headers else "GET"
    before = dict(call(checked(middleware), method, **request_headers).headers)
    assert any(before.get(name) != text for name, text in expected.items())
    setattr(middleware, option, value)
    after = dict(call(checked(middleware), method, **request_headers).headers)
    assert {name: after.get(name) for name in expected} == expected


def test_an_option_set_after_construction_is_checked() -> None:
    middleware = CORSMiddleware(plain_app(), allowed_origins=[SITE], max_age=9)
    with pytest.raises(ValueError, match="allowed_origins"):
        middleware.allowed_origins = ["not an origin"]
    with pytest.raises(ValueError, match="max_age"):
        middleware.max_age = -1
    assert (middleware.allowed_origins, middleware.max_age) == ({SITE}, 9)  # unchanged
    middleware.allow_any = True
    assert middleware.allow_any and middleware.allowed_origins == {SITE}
    middleware.allow_any = False
    assert not middleware.allow_any and middleware.allowed_origins == {SITE}


def test_empty_variable_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED", "")
    assert CORSMiddleware(plain_app()).allowed_origins == frozenset()


def test_every_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("CORS_ALLOW_CREDENTIALS", "CORS_ALLOW_METHODS", "CORS_ALLOW_HEADERS",
                     "CORS_EXPOSE_HEADERS", "CORS_MAX_AGE"):
        monkeypatch.setenv(variable, " ")
    cors = CORSMiddleware(plain_app())
    assert (cors.allow_credentials, cors.allow_methods, cors.allow_headers,
            cors.expose_headers, cors.max_age) == (
        False, ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], ["*"], [], 600)


def test_wildcard_with_credentials_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "readme_metrics"):
        CORSMiddleware(plain_app(), "*", allow_credentials=True)
    [record] = caplog.records
    # The logger's name says readme_metrics already: no doubled prefix in the message.
    assert record.getMessage() == "CORS allows any origin with credentials"


def test_a_raising_log_filter_does_not_break_building_the_middleware() -> None:
    """The app configures the logger: a filter of its that raises loses the warning
    only, and the middleware is built (it raised out of ``CORSMiddleware()``)."""
    class Raising(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            raise RuntimeError("the app's filter")

    logger = logging.getLogger("readme_metrics")
    broken = Raising()
    logger.addFilter(broken)
    try:
        cors = CORSMiddleware(plain_app(), "*", allow_credentials=True)
    finally:
        logger.removeFilter(broken)
    assert cors.allow_credentials is True


@pytest.mark.parametrize("variable, value, option", [
    pytest.param("CORS_ALLOWED", "example.com", "allowed_origins", id="origin-no-scheme"),
    pytest.param("CORS_ALLOWED", "https://example.com/path", "allowed_origins",
                 id="origin-path"),
    pytest.param("CORS_ALLOW_CREDENTIALS", "maybe", "allow_credentials", id="credentials"),
    pytest.param("CORS_ALLOW_METHODS", "GET,P UT", "allow_methods", id="method"),
    pytest.param("CORS_ALLOW_HEADERS", "X-Ok,Bad:Name", "allow_headers", id="header"),
    pytest.param("CORS_EXPOSE_HEADERS", "a b", "expose_headers", id="expose"),
    pytest.param("CORS_MAX_AGE", "ten", "max_age", id="max-age-text"),
    pytest.param("CORS_MAX_AGE", "-1", "max_age", id="max-age-negative"),
])
def test_invalid_configuration_names_option_and_variable(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, option: str
) -> None:
    """The error names the option and the variable, and, as the README_* errors do, where
    the value came from: "(from the environment)" or the .env file it was read from
    (where a newcomer told "the environment" looks and finds nothing); an argument is the
    caller's own code, named by the option."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=rf"{option} \({variable}\)") as error:
        CORSMiddleware(plain_app())
    assert str(error.value).endswith(" (from the environment)")
    monkeypatch.delenv(variable)
    (tmp_path / ".env").write_text(f"{variable}={value}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as error:
        CORSMiddleware(plain_app())
    assert str(error.value).endswith(f" (from {tmp_path / '.env'})")
    if option != "max_age" or value.lstrip("-").isdigit():
        # A string argument for a flag is named with where strings are read from.
        with pytest.raises(ValueError, match=rf"{option} .*{variable}") as error:
            CORSMiddleware(plain_app(), **{option: int(value) if option == "max_age"
                                           else value})
        assert "(from " not in str(error.value)


def test_an_allow_credentials_argument_that_is_no_bool_is_refused() -> None:
    with pytest.raises(ValueError, match=r"allow_credentials must be a bool \(True or False\), "
                       r"got the str 'yes'; strings like 'yes' are read from "
                       r"CORS_ALLOW_CREDENTIALS$"):
        CORSMiddleware(plain_app(), [SITE], allow_credentials="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("value, expected", [
    pytest.param("10", "max_age must be an int of seconds >= 0, got the str '10'; strings "
                 "like '10' are read from CORS_MAX_AGE", id="str"),
    pytest.param(1.5, r"max_age (CORS_MAX_AGE) must be an int of seconds >= 0, got the "
                 "float 1.5", id="float"),
    pytest.param(True, "max_age (CORS_MAX_AGE) must be an int of seconds >= 0, got the "
                 "bool True", id="bool"),
])
def test_a_max_age_argument_that_is_no_int_says_the_type_taken_and_given(
        value: Any, expected: str) -> None:
    """As number_checks words it for the other options: "got '10'" did not say why."""
    with pytest.raises(ValueError) as error:
        CORSMiddleware(plain_app(), [SITE], max_age=value)
    assert str(error.value) == "readme_metrics: " + expected


@pytest.mark.parametrize("option, variable", [
    pytest.param("allowed_origins", "CORS_ALLOWED", id="origins"),
    pytest.param("allow_methods", "CORS_ALLOW_METHODS", id="methods"),
    pytest.param("allow_headers", "CORS_ALLOW_HEADERS", id="headers"),
    pytest.param("expose_headers", "CORS_EXPOSE_HEADERS", id="expose"),
])
@pytest.mark.parametrize("value", [5, {"https://a.example": 1}.items(), b"https://a.example"],
                         ids=["int", "items", "bytes"])
def test_an_argument_that_is_no_list_of_strings_names_option_and_variable(
        option: str, variable: str, value: Any) -> None:
    """A wrong argument is the same clear ValueError as a wrong variable (a TypeError from
    deep inside before)."""
    with pytest.raises(ValueError, match=rf"{option} \({variable}\) must be"):
        CORSMiddleware(plain_app(), **{option: value})


@pytest.mark.parametrize("variable, value, expected", [
    pytest.param("CORS_MAX_AGE", "ten", "must be a whole number of seconds >= 0, got 'ten'",
                 id="max-age"),
    pytest.param("CORS_ALLOW_CREDENTIALS", "maybe", "must be true or false, got 'maybe'",
                 id="credentials"),
])
def test_an_unparsable_variable_says_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=re.escape(expected)):
        CORSMiddleware(plain_app())


# -- a real server and a real client ---------------------------------------------------


def test_real_server_round_trip() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Vary", "Accept-Encoding")])
        return [b'{"ok": true}']

    middleware = CORSMiddleware(app, [SITE], allow_credentials=True, expose_headers="X-Total")
    with ThreadedWSGIServer(middleware) as server, requests.Session() as session:
        preflight = session.options(server.url + "/items", headers={
            "Origin": SITE, "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "content-type"})
        actual = session.patch(server.url + "/items", json={}, headers={"Origin": SITE})
        refused = session.get(server.url + "/items",
                              headers={"Origin": "https://example.com.evil.com"})
        bare = session.get(server.url + "/items")
    assert preflight.status_code == 204 and preflight.content == b""
    assert preflight.headers["Access-Control-Allow-Origin"] == SITE
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"
    assert preflight.headers["Vary"] == "Origin"
    assert actual.json() == {"ok": True}
    assert actual.headers["Access-Control-Allow-Origin"] == SITE
    assert actual.headers["Access-Control-Expose-Headers"] == "X-Total"
    assert actual.headers["Vary"] == "Accept-Encoding, Origin"
    # Every answer varies on Origin, with CORS headers or not: a shared cache must not
    # serve the refused or the bare answer to the allowed origin.
    for answer in (refused, bare):
        assert "Access-Control-Allow-Origin" not in answer.headers
        assert answer.headers["Vary"] == "Accept-Encoding, Origin"


# -- differential: wrapped equals bare for everything the middleware does not answer ----

ORIGINS = st.one_of(
    st.sampled_from([
        None, SITE, "https://EXAMPLE.com:443", "https://evil-example.com",
        "https://example.com.evil.com", "http://example.com", "null", "",
        "https://other.example", "http://localhost:3000",
    ]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
)
APP_CORS_HEADERS = st.tuples(
    st.sampled_from(["Vary", "vary", "Access-Control-Allow-Origin", "Access-Control-Max-Age"]),
    st.sampled_from(["", "Accept-Encoding", "origin", "*", "Cookie, Accept", "https://x.y"]),
)
CONFIGS = st.sampled_from([
    {"allowed_origins": [SITE, "http://localhost:3000"]},
    {"allowed_origins": [SITE], "allow_credentials": True, "expose_headers": ["X-Total"]},
    {"allowed_origins": ["*"]},
    {"allowed_origins": ["*"], "allow_credentials": True},
    {"allowed_origins": []},
])


def _vary_tokens(headers: list[tuple[str, str]]) -> list[str]:
    return [token.strip().lower() for name, value in headers if name.lower() == "vary"
            for token in value.split(",") if token.strip()]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    app=scripted_apps(APP_CORS_HEADERS),
    config=CONFIGS,
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    origin=ORIGINS,
    request_method=st.sampled_from([None, "GET", "PUT"]),
)
def test_wrapped_equals_bare(app: ScriptedApp, config: dict[str, Any], method: str,
                             origin: str | None, request_method: str | None) -> None:
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if request_method is not None:
        headers["Access-Control-Request-Method"] = request_method
    middleware = CORSMiddleware(validated_inside_lint(app), **config)
    allowed = origin is not None and middleware.rules.allowed(origin)
    wrapped = run_wsgi(checked(middleware), wsgi_environ(method, "/", headers, b"body"))
    if allowed and method == "OPTIONS" and request_method:
        assert app.calls == 0 and wrapped.status == "204 No Content"
        return
    bare_app = ScriptedApp(app.status, app.headers, app.chunks, app.mode)
    bare = run_wsgi(validator(bare_app), wsgi_environ(method, "/", headers, b"body"))
    assert app.calls == 1
    assert app.closed == bare_app.closed
    assert (wrapped.status, wrapped.body, wrapped.error_repr) == (
        bare.status, bare.body, bare.error_repr)
    if bare.status is None:
        assert wrapped.headers == bare.headers
        return
    if not middleware.allow_any and not middleware.allowed_origins:
        assert wrapped.headers == bare.headers  # the answer never depends on Origin
        return
    # The app's headers come first, in order, with only Vary possibly extended; what
    # follows is only the middleware's own headers: Vary alone when not allowed.
    count = len(bare.headers)
    for (name, value), (bare_name, bare_value) in zip(wrapped.headers, bare.headers):
        assert name == bare_name
        if name.lower() == "vary" and value != bare_value:
            assert value in (f"{bare_value}, Origin", "Origin")
        else:
            assert value == bare_value
    assert {name.lower() for name, _ in wrapped.headers[count:]} <= (
        ADDED if allowed else {"vary"})
    assert len(wrapped.header("Access-Control-Allow-Origin")) == max(
        int(allowed), len(bare.header("Access-Control-Allow-Origin")))
    tokens = _vary_tokens(wrapped.headers)
    assert "*" in tokens or tokens.count("origin") == max(1, _vary_tokens(bare.headers).count(
        "origin"))


# -- stacked with the metrics middleware (SPEC 8, black box) -------------------------------




def vary_app(headers: list[tuple[str, str]]) -> Any:
    calls: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        calls.append(environ["REQUEST_METHOD"])
        start_response("200 OK", [("Content-Type", "text/plain"), *headers])
        return [b"app"]

    app.calls = calls  # type: ignore[attr-defined]
    return app


def test_cors_stacked_with_metrics_either_way(collector: Collector,
                                              monkeypatch: pytest.MonkeyPatch,
                                              background_wrap: Any) -> None:
    """SPEC 8: usable alone or stacked with metrics: CORS headers and x-documentation-url
    both reach the client, a preflight is not logged, Vary stays the app's plus Origin."""
    monkeypatch.setenv("CORS_ALLOWED", SITE)
    outer = CORSMiddleware(background_wrap(vary_app([("Vary", "Cookie")]), buffer_length=1))
    inner = background_wrap(CORSMiddleware(vary_app([("Vary", "Cookie")])), buffer_length=1)
    for stack in (outer, inner):
        preflight = hit(stack, "/x", method="OPTIONS", headers={
            "Origin": SITE, "Access-Control-Request-Method": "POST"})
        assert preflight.header("Access-Control-Allow-Origin") == [SITE]
        actual = hit(stack, "/x", headers={"Origin": SITE})
        assert actual.header("Access-Control-Allow-Origin") == [SITE]
        assert actual.header("Vary") == ["Cookie, Origin"]
        assert documentation_url(actual) is not None
    outer.app.flush(10.0)  # type: ignore[attr-defined]
    inner.flush(10.0)
    methods = [log["request"]["log"]["entries"][0]["request"]["method"]
               for log in collector.logs]
    assert methods == ["GET", "GET"], "preflights are not logged, actual requests are"

