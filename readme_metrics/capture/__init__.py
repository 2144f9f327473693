"""The capture core every adapter shares (SPEC section 3).

- the request: its URL (``request_url.py``), headers and body framing
  (``request_headers.py``), client IP and proxy trust (``forwarded.py``), from plain
  values; WSGI's latin-1 strings as text or bytes (``latin1.py``); what the worker logs
  of it, kept raw and parsed on the worker (``request_head.py``);
  ``environ_strings.py``: the strings of a WSGI environ, copied on the request thread;
- ``body.py``: bounded body recording; ``rest.py``: reading an unread rest without
  waiting, server by server (``rest_uwsgi.py``, ``rest_gunicorn.py``,
  ``rest_chunked.py``; ``chunked.py`` reads chunks out of copied bytes;
  ``discard_tap.py`` records werkzeug's own discard of it; ``input_layers.py``: what
  the input is under the wrappers that only count or check reads);
- ``recorder.py``: timing, response chunks, finish-once -> one ``Pending`` record
  (``pending.py``; ``response_headers.py``: the response headers read for the log;
  ``answer_comments.py``: the comment of an answer the app did not give);
- ``wsgi_input.py``: the ``wsgi.input`` tee, mirroring the app's reads (``input_shape.py``:
  the calls, ``with`` and iteration the server's input takes, kept; ``input_extras.py``:
  what else it offers (``readinto``, ``seek``, ...), held to the body; ``wsgi_rest.py``: the
  rest the app left unread, recorded; ``wsgi_replay.py``: the body for the grouping
  function); ``wsgi.py``: the WSGI middleware, over ``wsgi_exchange.py`` (one exchange:
  the wrapped ``start_response`` and response, the log; ``wsgi_grouping.py``: the
  grouping call; ``wsgi_request_body.py``: the tee over ``wsgi.input`` and its rest;
  ``wsgi_cut.py``: its log when cut short, at exit or by a signal's raise;
  ``weak_server_calls.py``: the server's callables held weakly at the answer's end;
  ``wsgi_response.py``: the response passed through to the server; ``wsgi_servers.py``:
  what each server does with the answer; ``wsgi_failures.py``: what its client got when
  the answer failed; ``file_rest.py``: what it sends of a ``wsgi.file_wrapper``;
  ``uwsgi_sendfile.py``: uWSGI's file_wrapper, seen returning its file);
- ``unclosed.py``: a response dropped unclosed, logged from a thread of its own, and
  what is in flight at exit (``unclosed_exit.py``: the exit hook; ``exit_cut.py``: the
  cut of each one);
- ``asgi.py``: the ASGI middleware, over ``asgi_exchange.py`` (one exchange: the
  wrapped ``send``), ``asgi_end.py`` (its grouping call and its log),
  ``asgi_receive.py`` (its request side: the wrapped ``receive``, reading an unread body
  ahead; ``asgi_receive_within.py``: one message within a time, under asyncio or trio;
  ``asgi_watch.py``: waiting for its rest with the server's reading paused,
  ``server_reading.py``: the pause and the hold after it) and
  ``asgi_scope.py`` (reading an ASGI scope).

Adapters (WSGI, Flask, Django, ASGI) translate their framework's objects into these
calls and hand the pending record to the shared pipeline.
"""
