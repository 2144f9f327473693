"""HAR 1.2 logs of captured exchanges, redacted and masked (SPEC sections 4 and 6).

The pipeline stage after capture: :func:`build_log` turns one
:class:`~readme_metrics.exchange.Exchange` into the log object posted to the Metrics API.

- :mod:`~readme_metrics.har.build`: the log object and its HAR entry (pure functions)
- :mod:`~readme_metrics.har.headers`: headers, credentials masked
  (:mod:`~readme_metrics.har.cookie_values`: the cookies the lists redact in a Cookie or
  Set-Cookie value; :mod:`~readme_metrics.har.header_urls`: URLs in header values;
  :mod:`~readme_metrics.har.header_names`: their names lowered once)
- :mod:`~readme_metrics.har.cookies`: a request's and a response's cookies, masked
- :mod:`~readme_metrics.har.subprotocols`: a WebSocket client's bearer token among its
  subprotocols, masked
- :mod:`~readme_metrics.har.credential_headers`: :data:`CREDENTIAL_HEADERS` and the rule
  for the other credential header names
- :mod:`~readme_metrics.har.credentials`: the caller's key masked in one string
  (:class:`~readme_metrics.har.credentials.CallerKey`)
- :mod:`~readme_metrics.har.scrub`: where in an entry the caller's key is masked
- :mod:`~readme_metrics.har.bodies`: ``postData`` and ``content``
  (:mod:`~readme_metrics.har.body_forms`: a form or multipart body's params, and
  :mod:`~readme_metrics.har.body_wide` a form in UTF-16/32;
  :mod:`~readme_metrics.har.body_text`: text or base64;
  :mod:`~readme_metrics.har.body_redaction`: a text redacted by its type;
  :mod:`~readme_metrics.har.body_clip`: the max_body_bytes bound)
- :mod:`~readme_metrics.har.multipart`, :mod:`~readme_metrics.har.text`: body parsing
  (:mod:`~readme_metrics.har.multipart_storage`: webob's FieldStorage;
  :mod:`~readme_metrics.har.multipart_usual`: the usual clients' framing, read by hand)
  (:mod:`~readme_metrics.har.percent`: percent-encoding; :mod:`~readme_metrics.har.pairs`:
  a query's, a fragment's and a form's pairs)
- :mod:`~readme_metrics.har.redaction`: the denylist/allowlist :class:`Redactor`
"""

from readme_metrics.har.build import (
    CREATOR,
    DEFAULT_MAX_BODY_BYTES,
    build_entry,
    build_log,
)
from readme_metrics.har.credential_headers import CREDENTIAL_HEADERS
from readme_metrics.har.redaction import Redactor, decode_component, redacted

__all__ = [
    "CREATOR",
    "CREDENTIAL_HEADERS",
    "DEFAULT_MAX_BODY_BYTES",
    "Redactor",
    "build_entry",
    "build_log",
    "decode_component",
    "redacted",
]
