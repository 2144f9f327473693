"""Bearer tokens a WebSocket client sends as subprotocols (SPEC 6): masked, the protocol
names kept.

A browser's WebSocket API sets no Authorization header, so clients put their token in
``Sec-WebSocket-Protocol`` instead: Kubernetes' API server reads
``base64url.bearer.authorization.k8s.io.<token>``, and many servers read the item after
one naming it (``access_token, <jwt>``, ``Authorization, <token>``, ``Bearer, <token>``).
Such items are sent as :func:`~readme_metrics.masking.mask` of the token, as a credential
header's value is; the other items (the protocols the app speaks) are logged as sent.
"""

from __future__ import annotations

import re

from readme_metrics.har.credential_headers import credential_header
from readme_metrics.masking import mask

__all__ = ["SUBPROTOCOL_HEADER", "masked_subprotocols", "subprotocol_tokens"]

#: The header whose items are looked at (lower case).
SUBPROTOCOL_HEADER = "sec-websocket-protocol"

# Kubernetes' bearer token subprotocol: the prefix, then the token (base64url).
_K8S_BEARER = "base64url.bearer.authorization.k8s.io."
# A JSON Web Token as an item of its own (header.payload.signature, base64url, the
# header a JSON object: "eyJ"), which no protocol name is.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def _names_a_token(item: str) -> bool:
    """Whether a subprotocol ``item`` names the token the next one is: a credential
    header's name (access_token, Authorization, X-Auth-Token, token) or Bearer."""
    name = item.lower().replace("_", "-")
    return name == "bearer" or credential_header(name)


def subprotocol_tokens(value: str) -> list[tuple[int, str, str]]:
    """The tokens in a ``Sec-WebSocket-Protocol`` value (the items described above): for
    each, the index of its item, the item stripped and the token in it (the item itself
    but for Kubernetes' prefix). The collector checks that each is masked."""
    if "," not in value and "." not in value:
        return []  # one protocol name ("graphql-ws", "mqtt"): no token
    tokens = []
    after_name = False
    for index, item in enumerate(value.split(",")):
        stripped = item.strip()
        token = None
        if after_name and stripped:
            token = stripped
        elif stripped.startswith(_K8S_BEARER) and len(stripped) > len(_K8S_BEARER):
            token = stripped[len(_K8S_BEARER):]
        elif stripped.startswith("eyJ") and _JWT.fullmatch(stripped) is not None:
            token = stripped
        after_name = token is None and _names_a_token(stripped)
        if token is not None:
            tokens.append((index, stripped, token))
    return tokens


def masked_subprotocols(value: str) -> str:
    """A ``Sec-WebSocket-Protocol`` value with each token in it masked (the items
    described above), the rest as sent; ``value`` itself when it holds none."""
    tokens = subprotocol_tokens(value)
    if not tokens:
        return value
    items = value.split(",")
    for index, stripped, token in tokens:
        masked = stripped[:len(stripped) - len(token)] + mask(token)
        items[index] = items[index].replace(stripped, masked, 1)
    return ",".join(items)
