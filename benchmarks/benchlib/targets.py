"""The issue's targets next to a run's figures (the report's ``targets``)."""

from __future__ import annotations

from typing import Any


def targets(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets next to the figures of this run."""
    checks: dict[str, Any] = {}

    def check(name: str, value: float, limit: float, at_least: bool = False) -> None:
        met = value >= limit if at_least else value <= limit
        checks[name] = {"value": value, "target": (">= " if at_least else "<= ") + str(limit),
                        "met": met}

    inprocess = report.get("inprocess")
    if inprocess:
        get, post = inprocess["small_get"]["added"], inprocess["post_100kb"]["added"]
        check("small_get_request_path_mean_added_us", get["mean_us"], 15)
        check("small_get_request_path_p99_added_us", get["p99_us"], 100)
        check("small_get_end_to_end_cpu_added_us", get["cpu_us_per_request"], 60)
        check("post_end_to_end_cpu_added_us", post["cpu_us_per_request"], 400)
    asgi = (report.get("asgi") or {}).get("inprocess")
    if asgi:  # issue 10: the ASGI request path adds no more than the WSGI one (p50)
        check("fastapi_minus_wsgi_small_get_p50_added_us",
              asgi["fastapi_minus_wsgi_added_us"]["p50_us"], 0)
    server = report.get("server")
    if server and "ratio" in server:
        check("gunicorn_wrk_ratio", server["ratio"], 0.85, at_least=True)
    for mode, result in (report.get("memory") or {}).items():
        check(f"memory_{mode}_rss_growth_mb", result["rss_growth_mb"], 50)
        check(f"memory_{mode}_threads_added", result["threads_after"]
              - result["threads_before"], 2)
        check(f"memory_{mode}_exit_seconds", result["exit_seconds"],
              result["shutdown_timeout"] + 1)
        checks[f"memory_{mode}_stats_add_up"] = {"value": result["stats_add_up"],
                                                 "met": result["stats_add_up"]}
    for run in report.get("sustained") or []:
        name = f"sustained_{run['target_rate']:g}_per_s_api_{run['api_delay_s'] * 1000:g}ms"
        checks[name + "_delivered"] = {
            "value": f"{run['delivered_distinct']} of {run['served']} served",
            "met": run["delivered_distinct"] == run["served"] and run["dropped"] == 0}
    for mode, run in (report.get("fault_slow_api") or {}).items():
        check(f"fault_slow_api_{mode}_exit_seconds", run["exit_s"],
              run["shutdown_timeout"] + 1)
    slow = (report.get("fault_slow_client") or {}).get("wrapped")
    if slow:
        checks["fault_slow_client_all_answered"] = {
            "value": f"{slow['answered']} of {slow['slow_clients']}, next requests "
                     f"{slow['next_requests_served']}, WORKER TIMEOUT {slow['worker_timeouts']}",
            "met": slow["answered"] == slow["next_requests_served"] == slow["slow_clients"]
            and slow["worker_timeouts"] == 0}
        checks["fault_slow_client_logs_delivered"] = {
            "value": f"{slow['logs_delivered']} of {slow['requests_served']} served",
            "met": slow["logs_delivered"] == slow["requests_served"]}
    return checks
