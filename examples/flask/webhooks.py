"""A ReadMe webhook endpoint in Flask: verify the signature, then answer.

ReadMe calls this endpoint when a user logs in to your docs, to fill in their API keys
(https://docs.readme.com/main/docs/personalized-docs-webhook). The secret is your ReadMe
project's API key (any key will do to try it).

    pip install ".[flask]"         # from the repository root
    README_API_KEY=any-key flask --app examples/flask/webhooks.py run --port 4000
    curl -d '{"email": "ana@example.com"}' http://127.0.0.1:4000/webhook
                                   # unsigned: 401 {"error": "Missing Signature"}
    BODY='{"email": "ana@example.com"}'; T=$(date +%s000)    # signed as ReadMe signs:
    SIG=$(printf '%s.%s' "$T" "$BODY" | openssl dgst -sha256 -hmac any-key | sed 's/.* //')
    curl -H "readme-signature: t=$T,v0=$SIG" -d "$BODY" http://127.0.0.1:4000/webhook
                                   # 200 {"email": "ana@example.com", ...}
"""

from __future__ import annotations

import os
from typing import Optional

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from readme_metrics.webhooks import VerificationError, VerifyWebhook


def create_app(secret: Optional[str] = None) -> Flask:
    """The webhook app; ``secret`` defaults to the ``README_API_KEY`` environment variable."""
    app = Flask(__name__)
    key = secret or os.environ["README_API_KEY"]

    @app.post("/webhook")
    def webhook() -> ResponseReturnValue:
        try:
            # The raw bytes, not request.json: the signature covers the exact body sent.
            VerifyWebhook(request.get_data(), request.headers.get("readme-signature"), key)
        except VerificationError as error:
            return jsonify(error=str(error)), 401

        # force: the body is JSON whatever its Content-Type says (curl -d sends a form's)
        email = (request.get_json(force=True, silent=True) or {}).get("email")
        # Look the user up in your own database here; these values are placeholders.
        return jsonify(
            email=email,
            petstore_auth="default-key",
            basic_auth={"user": "user", "pass": "pass"},
        )

    return app


if __name__ == "__main__":
    create_app().run(port=int(os.environ.get("PORT", "4000")))
