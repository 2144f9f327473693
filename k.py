import logging
logging.basicConfig(format="%(levelname)s %(message)s")
from readme_metrics import MetricsApiConfig, MetricsMiddleware
from webob import Request
def app(environ, sr):
    sr("200 OK", [("Content-Type", "text/plain")]); return [b"ok"]
m = MetricsMiddleware(app, MetricsApiConfig(grouping_function=lambda r: {"api_key": "caller-key-1"}, buffer_length=1))
for _ in range(3):
    Request.blank("/").get_response(m)
print(m.flush(5), m.stats)
