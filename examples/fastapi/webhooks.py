"""A ReadMe webhook endpoint in FastAPI: verify the signature, then answer.

ReadMe calls this endpoint when a user logs in to your docs, to fill in their API keys
(https://docs.readme.com/main/docs/personalized-docs-webhook). The secret is your ReadMe
project's API key (any key will do to try it).

    pip install ".[fastapi]" fastapi uvicorn     # from the repository root
    cd examples/fastapi
    README_API_KEY=any-key uvicorn webhooks:create_app --factory --port 4000
    curl -d '{"email": "ana@example.com"}' http://127.0.0.1:4000/webhook
                                   # unsigned: 401 {"error": "Missing Signature"}
    BODY='{"email": "ana@example.com"}'; T=$(date +%s000)    # signed as ReadMe signs:
    SIG=$(printf '%s.%s' "$T" "$BODY" | openssl dgst -sha256 -hmac any-key | sed 's/.* //')
    curl -H "readme-signature: t=$T,v0=$SIG" -d "$BODY" http://127.0.0.1:4000/webhook
                                   # 200 {"email": "ana@example.com", ...}
"""

import json
import os
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from readme_metrics.webhooks import VerificationError, VerifyWebhook


def create_app(secret: Optional[str] = None) -> FastAPI:
    """The webhook app; ``secret`` defaults to the ``README_API_KEY`` environment variable."""
    app = FastAPI()
    key = secret or os.environ["README_API_KEY"]

    @app.post("/webhook")
    async def webhook(request: Request) -> Any:
        body = await request.body()
        try:
            # The raw bytes, not a parsed model: the signature covers the exact body sent.
            VerifyWebhook(body, request.headers.get("readme-signature"), key)
        except VerificationError as error:
            return JSONResponse({"error": str(error)}, status_code=401)

        try:
            email = json.loads(body).get("email")
        except (ValueError, AttributeError):
            email = None
        # Look the user up in your own database here; these values are placeholders.
        return {"email": email, "petstore_auth": "default-key",
                "basic_auth": {"user": "user", "pass": "pass"}}

    return app
