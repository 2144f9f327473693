"""The TLS settings of a direct connection to the Metrics API, the same as requests'.

requests (through urllib3) verifies the Metrics API's certificate against one CA bundle:
the ``verify`` setting it reads from ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, else
certifi's (``requests.certs.where()``, which requests keeps as
``requests.utils.DEFAULT_CA_BUNDLE_PATH``); a directory is loaded as a CA path. The context
is urllib3's own (:func:`urllib3.util.ssl_.create_urllib3_context`: TLS 1.2 or later,
its options and ciphers, certificate and hostname checks with no common-name fallback),
and the connection sends SNI and offers ``http/1.1`` over ALPN, as urllib3 does. So a
user who trusts a private CA through those variables sees no difference between the
direct path and requests.
"""

from __future__ import annotations

import os
import ssl
from typing import Union

from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.ssl_ import create_urllib3_context

#: What requests' ``verify`` may be once the environment is merged: True (certifi's
#: bundle) or the path of a CA bundle file or directory.
Verify = Union[bool, str]


def context_for(verify: Verify) -> ssl.SSLContext:
    """A client context verifying certificates and host names as requests would.

    Raises ``OSError`` (as requests does, when it sends) if the bundle does not exist.
    """
    location = verify if isinstance(verify, str) and verify else DEFAULT_CA_BUNDLE_PATH
    if not os.path.exists(location):
        raise OSError("Could not find a suitable TLS CA certificate bundle, invalid "
                      f"path: {location}")
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    context.check_hostname = True
    context.hostname_checks_common_name = False
    if os.path.isdir(location):
        context.load_verify_locations(capath=location)
    else:
        context.load_verify_locations(cafile=location)
    context.set_alpn_protocols(["http/1.1"])
    return context


def server_name(host: str) -> str:
    """The name sent as SNI and checked against the certificate (as urllib3 does).

    A fully qualified name's trailing dot is dropped; an IPv6 literal loses its brackets
    and zone id.
    """
    name = host.strip("[]").rstrip(".")
    if "%" in name and ":" in name:
        name = name[: name.rfind("%")]
    return name
