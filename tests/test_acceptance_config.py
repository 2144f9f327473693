"""SPEC section 2, black-box, written from SPEC's lines alone and then trimmed of what
tests/test_config.py and the delivery tests already check: the documented import paths,
an explicit argument equal to the default winning over the environment, the environment
winning over .env, a .env written after a first configuration, every number/URL option
refused with a ValueError naming option and variable (argument, environment, .env), a
deprecated alias applied end to end, and flush/close/stats against a real collector."""

import pytest

from tests._acceptance_support import (
    Collector,
    call,
    clean_env_fixture,  # noqa: F401 - autouse
    environ_for,
    make_config,
    simple_app,
)


def grouping_for_dotted_path(req):
    return {"api_key": "dotted-key"}


# ---------------------------------------------------------------- import paths


def test_documented_import_paths():
    import readme_metrics

    assert readme_metrics.MetricsApiConfig
    assert callable(readme_metrics.MetricsMiddleware)
    from readme_metrics.flask_readme import ReadMeMetrics

    assert callable(ReadMeMetrics.init_app)
    from readme_metrics.django import MetricsMiddleware as DjangoMiddleware

    assert callable(DjangoMiddleware)
    from readme_metrics.VerifyWebhook import VerifyWebhook
    from readme_metrics.webhooks import VerificationError
    from readme_metrics.webhooks import VerifyWebhook as real

    assert VerifyWebhook is real
    assert issubclass(VerificationError, Exception)
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    assert callable(ReadMeMetricsMiddleware)
    from readme_metrics.asgi import MetricsMiddleware as AsgiMiddleware

    assert callable(AsgiMiddleware)


# ---------------------------------------------------------------- the option table

# (argument, variable, default, value given as argument, the same as an env string)
OPTIONS = [
    ("buffer_length", "README_BUFFER_LENGTH", 10, 7, "7"),
    ("flush_interval", "README_FLUSH_INTERVAL", 5.0, 2.5, "2.5"),
    ("development_mode", "README_DEVELOPMENT_MODE", False, True, "true"),
    ("background_worker_mode", "README_BACKGROUND_WORKER_MODE", True, False, "false"),
    ("denylist", "README_DENYLIST", [], ["password", "token"], "password,token"),
    ("allowlist", "README_ALLOWLIST", [], ["id", "name"], "id,name"),
    ("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", [], ["a.example", "b.example"],
     "a.example,b.example"),
    ("timeout", "README_TIMEOUT", 3, 1.5, "1.5"),
    ("base_log_url", "README_BASE_LOG_URL", None, "https://docs.example.com",
     "https://docs.example.com"),
    ("metrics_api", "README_METRICS_SERVER", "https://metrics.readme.io", "http://127.0.0.1:9",
     "http://127.0.0.1:9"),
    ("readme_api_url", "README_API_URL", "https://dash.readme.com/api", "http://127.0.0.1:9/api",
     "http://127.0.0.1:9/api"),
    ("max_body_bytes", "README_MAX_BODY_BYTES", 262144, 1000, "1000"),
    ("max_queue_size", "README_MAX_QUEUE_SIZE", 10000, 50, "50"),
    ("max_queue_bytes", "README_MAX_QUEUE_BYTES", 67108864, 4096, "4096"),
    ("trusted_proxies", "README_TRUSTED_PROXIES", 0, 2, "2"),
    ("skip_methods", "README_SKIP_METHODS", ["OPTIONS"], ["HEAD", "OPTIONS"], "HEAD,OPTIONS"),
    ("shutdown_timeout", "README_SHUTDOWN_TIMEOUT", 5, 1.0, "1"),
]
IDS = [o[0] for o in OPTIONS]


def config(**kwargs):
    from readme_metrics import MetricsApiConfig

    kwargs.setdefault("api_key", "k")
    kwargs.setdefault("grouping_function", lambda req: None)
    return MetricsApiConfig(**kwargs)


def normalise(value):
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted(str(v).upper() for v in value)
    if isinstance(value, str):
        return value.rstrip("/")
    return value


@pytest.mark.parametrize("name,var,default,value,env", OPTIONS, ids=IDS)
def test_argument_wins_over_environment(monkeypatch, name, var, default, value, env):
    monkeypatch.setenv(var, env)
    # An explicit argument equal to the default still wins over the environment.
    assert normalise(getattr(config(**{name: default}), name)) == normalise(default)


def test_environment_wins_over_dotenv_file(monkeypatch, tmp_path):
    # Strict reading: a real environment variable beats the .env file (twelve-factor, and
    # environs' read_env does not override what is already set).
    (tmp_path / ".env").write_text("README_BUFFER_LENGTH=3\n")
    monkeypatch.setenv("README_BUFFER_LENGTH", "4")
    assert config().buffer_length == 4


def test_api_key_from_environment_and_dotenv(monkeypatch, tmp_path):
    from readme_metrics import MetricsApiConfig

    monkeypatch.setenv("README_API_KEY", "env-key")
    assert MetricsApiConfig(grouping_function=lambda r: None).api_key == "env-key"
    config = MetricsApiConfig(api_key="arg-key", grouping_function=lambda r: None)
    assert config.api_key == "arg-key"
    monkeypatch.delenv("README_API_KEY")
    (tmp_path / ".env").write_text("README_API_KEY=file-key\n")
    assert MetricsApiConfig(grouping_function=lambda r: None).api_key == "file-key"


def test_grouping_function_dotted_path_as_argument():
    got = config(grouping_function=__name__ + ".grouping_for_dotted_path").grouping_function
    assert callable(got)
    assert got(None) == {"api_key": "dotted-key"}


def test_grouping_function_from_dotenv(tmp_path):
    from readme_metrics import MetricsApiConfig

    (tmp_path / ".env").write_text(
        f"README_GROUPING_FUNCTION={__name__}.grouping_for_dotted_path\n"
    )
    assert MetricsApiConfig(api_key="k").grouping_function(None) == {"api_key": "dotted-key"}


# ---------------------------------------------------------------- invalid values

INVALID_ARGUMENTS = [
    ("buffer_length", "README_BUFFER_LENGTH", -1),
    ("flush_interval", "README_FLUSH_INTERVAL", -1),
    ("timeout", "README_TIMEOUT", -1),
    ("max_body_bytes", "README_MAX_BODY_BYTES", -1),
    ("max_queue_size", "README_MAX_QUEUE_SIZE", -1),
    ("max_queue_bytes", "README_MAX_QUEUE_BYTES", -1),
    ("trusted_proxies", "README_TRUSTED_PROXIES", -1),
    ("shutdown_timeout", "README_SHUTDOWN_TIMEOUT", -1),
    ("metrics_api", "README_METRICS_SERVER", "not a url"),
    ("metrics_api", "README_METRICS_SERVER", "ftp://metrics.example"),
    ("base_log_url", "README_BASE_LOG_URL", "docs.example.com"),
    ("base_log_url", "README_BASE_LOG_URL", "ftp://docs.example.com"),
    ("readme_api_url", "README_API_URL", "not a url"),
    ("readme_api_url", "README_API_URL", "file:///etc/passwd"),
]


@pytest.mark.parametrize("name,var,value", INVALID_ARGUMENTS)
def test_invalid_argument_is_a_value_error_naming_option_and_variable(name, var, value):
    with pytest.raises(ValueError) as info:
        config(**{name: value})
    assert name in str(info.value)
    assert var in str(info.value)


INVALID_ENV = [
    ("buffer_length", "README_BUFFER_LENGTH", "ten"),
    ("buffer_length", "README_BUFFER_LENGTH", "-1"),
    ("flush_interval", "README_FLUSH_INTERVAL", "soon"),
    ("development_mode", "README_DEVELOPMENT_MODE", "maybe"),
    ("background_worker_mode", "README_BACKGROUND_WORKER_MODE", "perhaps"),
    ("timeout", "README_TIMEOUT", "3s"),
    ("max_body_bytes", "README_MAX_BODY_BYTES", "256KiB"),
    ("max_queue_size", "README_MAX_QUEUE_SIZE", "1e"),
    ("max_queue_bytes", "README_MAX_QUEUE_BYTES", "lots"),
    ("trusted_proxies", "README_TRUSTED_PROXIES", "one"),
    ("shutdown_timeout", "README_SHUTDOWN_TIMEOUT", "x"),
    ("metrics_api", "README_METRICS_SERVER", "metrics"),
    ("base_log_url", "README_BASE_LOG_URL", "docs"),
    ("readme_api_url", "README_API_URL", "api"),
]


@pytest.mark.parametrize("name,var,env", INVALID_ENV)
def test_invalid_environment_is_a_value_error_naming_option_and_variable(
    monkeypatch, name, var, env
):
    monkeypatch.setenv(var, env)
    with pytest.raises(ValueError) as info:
        config()
    assert name in str(info.value)
    assert var in str(info.value)


@pytest.mark.parametrize("name,var,env", INVALID_ENV[:3])
def test_invalid_dotenv_value_is_a_value_error_naming_option_and_variable(tmp_path, name, var, env):
    (tmp_path / ".env").write_text(f"{var}={env}\n")
    with pytest.raises(ValueError) as info:
        config()
    assert name in str(info.value)
    assert var in str(info.value)


def test_invalid_environment_is_not_checked_when_the_argument_is_given(monkeypatch):
    # The argument wins, so a bad variable it overrides does not matter.
    monkeypatch.setenv("README_BUFFER_LENGTH", "ten")
    assert config(buffer_length=4).buffer_length == 4


def test_the_error_for_an_invalid_option_does_not_contain_the_api_key():
    with pytest.raises(ValueError) as info:
        config(api_key="rdme_secret_value_9876", buffer_length=-5)
    assert "rdme_secret_value_9876" not in str(info.value)


# ---------------------------------------------------------------- deprecated aliases


def test_deprecated_alias_redacts_in_the_posted_log():
    c = Collector()
    try:
        with pytest.warns(DeprecationWarning):
            cfg = make_config(c, blacklist=["password"])
        app = __import__("readme_metrics").MetricsMiddleware(simple_app(), cfg)
        call(app, environ_for("/login", "POST", b'{"password": "hunter2"}',
                              {"Content-Type": "application/json"}))
        assert app.flush(timeout=5)
        text = c.wait_logs(1)[0]["request"]["log"]["entries"][0]["request"]["postData"]["text"]
        assert "hunter2" not in text
        assert "[REDACTED 7]" in text
    finally:
        c.close()


# ---------------------------------------------------------------- flush / close / stats

STATS = ("captured", "skipped", "queued", "sent", "dropped", "failed_batches", "retries")


@pytest.mark.parametrize("background", [True, False])
def test_flush_close_and_stats(background):
    from readme_metrics import MetricsMiddleware

    c = Collector()
    try:
        cfg = make_config(c, background_worker_mode=background, buffer_length=100,
                          flush_interval=0)
        app = MetricsMiddleware(simple_app(), cfg)
        for key in STATS:
            assert app.stats[key] == 0, key
        for i in range(3):
            call(app, environ_for(f"/n/{i}"))
        call(app, environ_for("/pre", "OPTIONS"))
        # README: captured == sent + dropped + queued + skipped
        assert app.stats["captured"] == 4
        assert app.stats["skipped"] == 1
        assert app.stats["queued"] == 3
        assert c.logs() == []  # 3 < buffer_length and no flush interval: nothing sent yet
        assert app.flush(timeout=5) is True
        assert len(c.logs()) == 3
        assert app.stats["sent"] == 3
        assert app.stats["queued"] == 0
        assert app.stats["dropped"] == 0
        assert app.stats["failed_batches"] == 0
        call(app, environ_for("/last"))
        app.close()
        assert len(c.logs()) == 4  # close flushes
        app.close()  # idempotent
        assert len(c.logs()) == 4
    finally:
        c.close()


def test_flush_returns_false_when_delivery_fails():
    from readme_metrics import MetricsMiddleware

    c = Collector(status=400)  # a 4xx drops the batch
    try:
        app = MetricsMiddleware(simple_app(), make_config(c, buffer_length=100,
                                                           background_worker_mode=True))
        call(app, environ_for("/x"))
        assert app.flush(timeout=5) is False
        assert app.stats["sent"] == 0
        assert app.stats["dropped"] >= 1 or app.stats["failed_batches"] >= 1
        app.close()
    finally:
        c.close()
