"""The Flask webhook server ReadMe's cross-SDK integration suite (metrics-sdks) runs.

That suite starts it with ``PORT`` and ``README_API_KEY`` (the webhook secret) in the
environment and sends ``POST /webhook`` signed as ReadMe signs
(``readme-signature: t=<ms>,v0=<hex HMAC-SHA256 of "<t>.<body>">``). A valid call gets
200 and exactly ``{"petstore_auth": "default-key", "basic_auth": {"user": "user",
"pass": "pass"}}`` (the suite compares strictly: no other key); a missing, invalid or
expired signature gets 401 ``{"error": "Missing Signature"}`` (or ``Invalid``,
``Expired``). Both as ``application/json; charset=utf-8``. The signature is checked
against the raw body bytes, which are exactly what was signed. ``HOST`` (default
127.0.0.1) is the address to listen on: 0.0.0.0 in a container.

    pip install ".[flask]"                       # from the repository root
    README_API_KEY=any-key PORT=8000 python examples/metrics_sdks/flask_webhooks.py
    curl -d '{"email": "ana@example.com"}' http://127.0.0.1:8000/webhook
"""

import os
import sys

from flask import Flask, request

from readme_metrics.webhooks import VerificationError, VerifyWebhook

SECRET = os.getenv("README_API_KEY")
if not SECRET:
    sys.exit("flask_webhooks.py: set README_API_KEY, the webhook secret")

JSON = {"Content-Type": "application/json; charset=utf-8"}
#: What a verified call gets: placeholders; look the caller (the body's email) up in your
#: own database instead.
USER = {"petstore_auth": "default-key", "basic_auth": {"user": "user", "pass": "pass"}}

app = Flask(__name__)


@app.post("/webhook")
def webhook():
    try:
        VerifyWebhook(request.get_data(), request.headers.get("readme-signature"), SECRET)
    except VerificationError as error:
        return {"error": str(error)}, 401, JSON
    return USER, 200, JSON


if __name__ == "__main__":
    app.run(host=os.getenv("HOST", "127.0.0.1"), port=int(os.getenv("PORT", "8000")))
