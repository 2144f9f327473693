"""The FastAPI webhook server ReadMe's cross-SDK integration suite (metrics-sdks) runs.

That suite starts it with ``PORT`` and ``README_API_KEY`` (the webhook secret) in the
environment and sends ``POST /webhook`` signed as ReadMe signs
(``readme-signature: t=<ms>,v0=<hex HMAC-SHA256 of "<t>.<body>">``). A valid call gets
200 and exactly ``{"petstore_auth": "default-key", "basic_auth": {"user": "user",
"pass": "pass"}}`` (the suite compares strictly: no other key); a missing, invalid or
expired signature gets 401 ``{"error": "Missing Signature"}`` (or ``Invalid``,
``Expired``). Both as ``application/json; charset=utf-8``. The signature is checked
against the raw body bytes, which are exactly what was signed. ``HOST`` (default
127.0.0.1) is the address to listen on: 0.0.0.0 in a container.

    pip install ".[fastapi]" fastapi uvicorn     # from the repository root
    README_API_KEY=any-key PORT=8000 python examples/metrics_sdks/fastapi_webhooks.py
    curl -d '{"email": "ana@example.com"}' http://127.0.0.1:8000/webhook
"""

import os
import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from readme_metrics.webhooks import VerificationError, VerifyWebhook

SECRET = os.getenv("README_API_KEY")
if not SECRET:
    sys.exit("fastapi_webhooks.py: set README_API_KEY, the webhook secret")

JSON = "application/json; charset=utf-8"
#: What a verified call gets: placeholders; look the caller (the body's email) up in your
#: own database instead.
USER = {"petstore_auth": "default-key", "basic_auth": {"user": "user", "pass": "pass"}}

app = FastAPI()


@app.post("/webhook")
async def webhook(request: Request):
    try:
        VerifyWebhook(await request.body(), request.headers.get("readme-signature"), SECRET)
    except VerificationError as error:
        return JSONResponse({"error": str(error)}, status_code=401, media_type=JSON)
    return JSONResponse(USER, media_type=JSON)


if __name__ == "__main__":
    uvicorn.run(app, host=os.getenv("HOST", "127.0.0.1"), port=int(os.getenv("PORT", "8000")),
                log_level="warning")
