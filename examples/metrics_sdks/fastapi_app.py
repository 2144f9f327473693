"""The FastAPI server ReadMe's cross-SDK integration suite (metrics-sdks) runs for an SDK.

That suite starts the server it is given with ``PORT``, ``README_API_KEY`` and a local
Metrics API's URL in the environment (named ``METRICS_SERVER`` there; this library's
``README_METRICS_SERVER`` works too, and wins when both are exported), sends ``GET /``
and ``POST /`` with a JSON body, and checks the one log its Metrics API receives for
each: a fixed caller (Owlbert), ``{"message": "hello world"}`` for the GET, an empty 200
for the POST. Every log is sent as soon as the exchange ends
(``background_worker_mode=False``, ``buffer_length=1``). ``HOST`` (default 127.0.0.1) is
the address to listen on: 0.0.0.0 in a container. The suite's webhook test runs
``fastapi_webhooks.py`` beside it.

    pip install ".[fastapi]" fastapi uvicorn     # from the repository root
    readme-metrics collect                       # in another terminal: the Metrics API
    export README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001 PORT=8000
    python examples/metrics_sdks/fastapi_app.py
    curl http://127.0.0.1:8000/
"""

import os

import uvicorn
from fastapi import FastAPI

from readme_metrics import MetricsApiConfig
from readme_metrics.fastapi import ReadMeMetricsMiddleware

# ReadMe's suite names its Metrics API stand-in METRICS_SERVER; the library reads only
# README_METRICS_SERVER (a variable of that generic name may mean anything in an app).
if os.getenv("METRICS_SERVER"):
    os.environ.setdefault("README_METRICS_SERVER", os.environ["METRICS_SERVER"])


def grouping_function(request):
    return {"api_key": "owlbert-api-key", "label": "Owlbert", "email": "owlbert@example.com"}


app = FastAPI()
app.add_middleware(
    ReadMeMetricsMiddleware,
    config=MetricsApiConfig(
        api_key=os.getenv("README_API_KEY"),
        grouping_function=grouping_function,
        background_worker_mode=False,
        buffer_length=1,
        timeout=5,
    ),
)


@app.get("/")
def hello_world():
    return {"message": "hello world"}


@app.post("/")
def post():
    return ""


if __name__ == "__main__":
    uvicorn.run(app, host=os.getenv("HOST", "127.0.0.1"), port=int(os.getenv("PORT", "8000")),
                log_level="warning")
