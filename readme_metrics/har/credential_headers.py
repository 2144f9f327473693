"""The credential header rule: which header names hold a credential (SPEC 6).

:data:`CREDENTIAL_HEADERS` names the well-known ones; :func:`credential_header` takes
those and the names a service gives its own (X-Api-Secret, Stripe-Signature), by their
last word. Their values are masked (:mod:`~readme_metrics.har.headers`) and the collector
refuses them in clear (:mod:`~readme_metrics.cli.collector.har_checks`).
"""

from __future__ import annotations

__all__ = ["CREDENTIAL_HEADERS", "CREDENTIAL_KEY_ENDINGS", "credential_header"]

#: Lower-case names of the headers whose values are always masked.
CREDENTIAL_HEADERS: frozenset[str] = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie",
    # RFC 2965's (obsolete, still sent by some clients and old servers): Set-Cookie2
    # carries cookies as Set-Cookie does, Cookie2 goes with them.
    "cookie2", "set-cookie2",
    "x-api-key", "api-key", "apikey", "x-apikey", "x-api-token", "api-token",
    "x-auth-token", "auth-token", "x-access-token", "access-token", "x-refresh-token",
    "x-session-token", "x-csrf-token", "x-xsrf-token", "x-client-secret", "private-token",
    "x-goog-api-key", "x-amz-security-token", "ocp-apim-subscription-key",
    "x-rapidapi-key", "x-functions-key",
    # Cloudflare's global API key, HashiCorp Vault's token, GitLab's webhook secret,
    # Shopify's Admin API token.
    "x-auth-key", "x-vault-token", "x-gitlab-token", "x-shopify-access-token",
    # The client's Authorization, which Google Cloud's API Gateway and ESPv2 pass on
    # under this name when they send their own.
    "x-forwarded-authorization",
    # The Authorization under another name: where a gateway takes Authorization (AWS
    # IAM), and Cloud Run's and Cloud Functions' for the service beside the app's own.
    "x-authorization", "x-serverless-authorization",
    # The signed-in user's tokens, which an identity-aware proxy or platform in front of
    # the app adds to every request it passes on: Cloudflare Access, Google's IAP, AWS's
    # Application Load Balancer, Azure App Service, oauth2-proxy.
    "cf-access-jwt-assertion", "x-goog-iap-jwt-assertion", "x-amzn-oidc-accesstoken",
    "x-amzn-oidc-data", "x-ms-token-aad-access-token", "x-ms-token-aad-id-token",
    "x-ms-token-aad-refresh-token", "x-forwarded-access-token",
    "x-auth-request-access-token",
    # RFC 9449's proof of possession: a signed JWT sent with an access token bound to the
    # client's key (Authorization: DPoP ...), a credential as the signatures of the rule
    # below are.
    "dpop",
    # Azure Resource Manager's tokens for the other tenants of a call ("Bearer ..., Bearer
    # ..."), Azure Service Bus's SAS tokens for a forwarding or dead-letter queue, Docker
    # Engine's build credentials (base64 JSON of each registry's user and password),
    # Firebase App Check's token, Honeycomb's API key.
    "x-ms-authorization-auxiliary", "servicebussupplementaryauthorization",
    "servicebusdlqsupplementaryauthorization", "x-registry-config", "x-firebase-appcheck",
    "x-honeycomb-team",
    # Names no rule below can tell: AWS's MFA device serial and its one-time code
    # (X-Amz-Mfa: "<serial> <code>"), GitHub's two-factor code, New Relic's Insights
    # keys, Adafruit IO's and JFrog Artifactory's API keys, Appwrite's server key,
    # Mashape's (RapidAPI's old) key, Vercel's protection bypass secret, Trino's and
    # Presto's extra credentials (a connector's user and password), and the CSRF tokens
    # of WordPress (a nonce) and Jenkins (a crumb), as X-CSRF-Token is.
    "x-amz-mfa", "x-github-otp", "x-insert-key", "x-query-key", "x-aio-key",
    "x-jfrog-art-api", "x-appwrite-key", "x-mashape-key", "x-vercel-protection-bypass",
    "x-trino-extra-credential", "x-presto-extra-credential", "x-wp-nonce", "jenkins-crumb",
})

# The rule for the credential headers no list can name (each service has its own:
# X-Api-Secret, Dd-Api-Key, X-Parse-Master-Key, X-Sentry-Auth, X-Jwt, Id-Token,
# Stripe-Signature, X-Hub-Signature-256, Django's X-CSRFToken): the last word of the name
# (words between "-", trailing ones holding a digit dropped: -256, -Sha256, -Ed25519,
# and a digest's name before them: -Sha-256)...
# ... is one of these,
_CREDENTIAL_LAST = frozenset({
    "auth", "authorization", "authentication", "jwt", "assertion", "passwd", "passphrase",
    # ... "sign": an exchange API's signed request (Cb-Access-Sign, Api-Sign, Kc-Api-Sign),
    # replayed as a webhook's signature is.
    "signature", "sign", "hmac",
    # ... "sig": PayPal's webhook signature (Paypal-Transmission-Sig).
    "sig"})
# ... or ends with one of these (accesstoken, csrftoken, clientsecret, apikey),
_CREDENTIAL_ENDINGS = ("token", "secret", "password", "apikey")
# ... but not a pagination token (X-Next-Page-Token, X-Continuation-Token: where to read
# on, not who reads), the word before "token" (or glued to it) being one of these;
_NOT_CREDENTIAL_TOKENS = frozenset({
    "page", "next", "continuation", "pagination", "cursor", "sync",
    # ... or an idempotency token (Twilio's I-Twilio-Idempotency-Token: which call, not who);
    "idempotency"})
# ... or is "key" after one of these (or glued to it: masterkey), or after a word ending
# in "api" (X-RapidAPI-Key): not Idempotency-Key, Sec-WebSocket-Key, a cache key.
_CREDENTIAL_KEYS = frozenset({
    "api", "app", "application", "access", "admin", "auth", "client", "customer",
    "encryption", "license", "master", "private", "sas", "secret", "service", "session",
    "signing", "subscription"})
#: The endings of a last word naming a credential key (apikey, masterkey, clientkey).
CREDENTIAL_KEY_ENDINGS = tuple(kind + "key" for kind in _CREDENTIAL_KEYS)


# ... and not a name the rule would take that holds none (RFC 9421's Accept-Signature
# asks for a signature; Atlassian's X-Atlassian-Token says "no-check" to its XSRF check).
_NOT_CREDENTIAL = frozenset({"accept-signature", "x-atlassian-token"})
# A digest of a key, the word after "key" (X-Amz-Server-Side-Encryption-Customer-Key-MD5,
# X-Goog-Encryption-Key-Sha256): a check that the key was sent whole, not the key.
_DIGESTS = ("md5", "sha", "crc")


def credential_header(name: str) -> bool:
    """Whether the header ``name`` (lower case, "-" between its words) holds a credential:
    one of :data:`CREDENTIAL_HEADERS`, or a name the rule above takes. Its value is then
    masked (:mod:`~readme_metrics.har.headers`, once per distinct name) and the collector
    refuses it in clear."""
    if name in CREDENTIAL_HEADERS:
        return True
    if name in _NOT_CREDENTIAL:
        return False
    if name[-1:].isdigit():
        # Digits glued to the last word (X-Api-Key2, Api-Key1: a second key, a rotation's
        # next one): the name without them, which a word holding a digit (-256, -Sha256)
        # otherwise drops whole, "key2" with it.
        stem = name.rstrip("0123456789")
        if stem[-1:].isalpha() and credential_header(stem):
            return True
    words = name.split("-")
    dropped = ""
    while len(words) > 1 and (any(character.isdigit() for character in words[-1]) or (
            # ... and a digest's name before them (X-Signature-Sha-256, as -Sha256 is).
            dropped and words[-1] in _DIGESTS)):
        dropped = words.pop()  # X-Hub-Signature-256, X-Shopify-Hmac-Sha256, X-Signature-Ed25519
    last = words[-1]
    if last == "key" and dropped.startswith(_DIGESTS):
        return False
    if last in _CREDENTIAL_LAST:
        return True
    if last.endswith(_CREDENTIAL_ENDINGS):
        if last.endswith("token"):
            glued = last[:-len("token")]
            before = glued or (words[-2] if len(words) > 1 else "")
            return before not in _NOT_CREDENTIAL_TOKENS
        return True
    if last == "key" and len(words) > 1:
        return words[-2] in _CREDENTIAL_KEYS or words[-2].endswith("api")
    return last.endswith(CREDENTIAL_KEY_ENDINGS)
