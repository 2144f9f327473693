"""What the tests share, one concern per module.

- ``fake_api``: a real, programmable Metrics API on 127.0.0.1 (``Collector``, ``Reply``,
  ``Received``, ``basic_auth``, ``LogsMissing``; ``free_port`` and ``free_ports`` from
  ``ports``).
- ``ports``: ``free_port``, ``free_ports``: ports for the servers the tests start, which
  nothing else takes before the server binds them.
- ``har_check``: ``assert_valid_log``, one log exactly as SPEC section 4 says, and
  ``har_validator`` (the strict HAR 1.2 schema, tests/har-1.2.schema.json).
- ``wsgi``: ``ThreadedWSGIServer``, and ``run_wsgi``/``wsgi_environ``/``WSGIResult`` for
  direct calls made as a strict server would.
- ``wsgi_servers``: ``served``, wsgiref's, werkzeug's or waitress's server in this
  process on a free port, for the tests that speak to a real server over a socket.
- ``strategies``: hypothesis ``scripted_apps`` (``ScriptedApp``, ``ScriptedError``).
- ``lint``: ``validated_inside_lint``, wsgiref.validate below werkzeug's LintMiddleware.
- ``command``: ``CommandProcess``, the ``readme-metrics`` command in a subprocess, and
  ``REPO_ROOT``.
- ``har_file``: ``har_file_logs``, the logs behind a collector's HAR file.
- ``logs``: ``assert_api_key_not_logged``.
- ``contract``: black-box helpers whose expected values come from SPEC words
  (``spec_mask``, ``exchange``, ``reading_app``, ...); the ``inline_wrap`` and
  ``background_wrap`` fixtures of tests/conftest.py build the middleware with them.
- ``drip``: ``DripServer``, an API that answers one byte at a time.
- ``sample_logs``: valid log objects for the collector's and the checker's tests.
- ``minimal_server``: ``environ_for`` and ``call`` (``Result``), a bare environ set to the
  byte and a minimal server, for the capture tests and the differential property.
- ``capture_wrap``: the ``wrap`` fixture of test_middleware_*.py (import ``wrap_fixture``),
  Owlbert's ``GROUP``, and ``only_log``.
- ``delivery``: the delivery tests' ``item``, ``build_id`` and counting helpers, the
  ``make_delivery`` fixture and the autouse check that no log record shows the API key
  (import ``make_delivery_fixture`` and ``api_key_never_logged_fixture``).
- ``e2e_apps``: the end-to-end API as plain, Bottle, Flask and Django WSGI apps (also
  the Django settings module and URLconf), imported by dotted name by the real
  servers test_e2e_servers.py, test_slow_client.py and test_uwsgi_unix.py start.
- ``asgi_apps``: the same API as FastAPI, Starlette and Django ASGI apps, for the
  ASGI servers of test_asgi_servers.py.
- ``asgi``: ``run``, a server's side of the ASGI protocol scripted, and
  ``LifespanShutdown``, a lifespan shutdown scripted, for the in-process ASGI tests.
- ``exchanges``: a plain exchange to vary, one carrying a body on either side
  (``body_on``), sample bodies (a PNG, a multipart form and the
  params it decodes to) and the log as it is sent, for the HAR tests.
- ``raw_requests``: ``read_head``, ``read_request`` and ``read_body``, the requests a
  raw-socket stand-in API reads itself (``drip``, ``hangup``, test_transport_answers.py).
- ``hangup``: ``HangupServer``, a Metrics API that answers, then drops a kept-alive
  connection without warning.
- ``proxy``: a forward HTTP proxy on 127.0.0.1 that records what went through it.
- ``processes``: ``start_server``, ``stop_server`` and ``end_stragglers``, so a server
  process the tests start leaves nothing behind, and dies with the test run.
- ``tls``: certificates made for a test by ``openssl`` (a private CA) and an HTTPS
  collector.
- ``transports``: the transport tests' key, both routes (``ROUTES``) and a clean
  environment.
- ``polling``: ``wait_until``, waiting for what another thread or process does (for
  ``PATIENCE`` seconds by default, as ``Collector.wait_for_logs``), and ``SERVE_POLL``,
  how often the tests' own servers look for their shutdown.
- ``sessions``: ``close_connections``, a ``requests`` session's kept-alive connections
  closed before a server is stopped.
- ``schedule``: the order of the collection in each xdist worker (tests/conftest.py):
  each worker's share begins with its part of the known long modules.
- ``close_child``: a child process that queues logs through the WSGI middleware, then
  runs a test's own ``close_all`` calls (delivery72, 73, 74).
- ``uvicorn_workers``: ``uvicorn --workers 2`` serving a test's site, its worker
  processes, and delivery67's site (delivery67, 70, 76, the group-stop benchmark).
- ``tls_bio``: a TLS client over memory BIOs, each write and its close_notify the
  test's to time (delivery75, review147).
- ``load_file``: a file that is no package module (a benchmark, an example, an app a
  test wrote) imported under a name of its own.
"""
