"""Per-process CPU and context-switch accounting of a benchmark run, read from Linux's /proc.

``bench.py``'s gunicorn run (``--only server``) snapshots, before and after wrk's timed
run, every process that shares the two cores: the gunicorn arbiter, each worker (its
serving thread, the thread whose id is the process's, apart from its other threads: the
library's senders and watchdog), the loopback collector, wrk (a child reaped by then:
``getrusage(RUSAGE_CHILDREN)``), and the machine as a whole (``/proc/stat``: what is left
after the processes above and the idle time is other processes' and the kernel's
interrupts). Differences of two :class:`Snapshot` are microseconds of CPU and switches
per request (:func:`per_request`).

Elsewhere than Linux every figure reads 0.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from typing import Iterable

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Usage:
    """CPU seconds and context switches of one process (or a part of one)."""

    cpu: float = 0.0
    voluntary: int = 0
    involuntary: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu + other.cpu, self.voluntary + other.voluntary,
                     self.involuntary + other.involuntary)

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.cpu - other.cpu, self.voluntary - other.voluntary,
                     self.involuntary - other.involuntary)


def _task_cpu(path: str) -> float:
    """utime + stime seconds from a ``stat`` file (a process's: all its threads)."""
    with open(path) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _task_switches(path: str) -> tuple[int, int]:
    """(voluntary, involuntary) context switches from a task's ``status`` file."""
    voluntary = involuntary = 0
    with open(path) as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                voluntary = int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                involuntary = int(line.split()[1])
    return voluntary, involuntary


def thread_usage(pid: int, tid: int) -> Usage:
    """One thread's CPU and switches (0 if it is gone)."""
    base = f"/proc/{pid}/task/{tid}"
    try:
        return Usage(_task_cpu(f"{base}/stat"), *_task_switches(f"{base}/status"))
    except (OSError, ValueError, IndexError):
        return Usage()


def thread_waited(pid: int, tid: int) -> float:
    """Seconds one thread has been runnable waiting for a CPU (Linux's ``schedstat``: the
    load's share of its time; 0 if unreadable)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/schedstat") as schedstat:
            return int(schedstat.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def process_usage(pid: int) -> tuple[Usage, Usage]:
    """(the whole process, its main thread): CPU of all its threads, and the switches
    summed over the threads alive now (``/proc/<pid>/status`` counts the main thread's
    alone). A thread that ended between two snapshots takes its switches with it (its
    CPU stays in the process's ``stat``)."""
    try:
        cpu = _task_cpu(f"/proc/{pid}/stat")
        tids = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except (OSError, ValueError, IndexError):
        return Usage(), Usage()
    voluntary = involuntary = 0
    for tid in tids:
        try:
            one = _task_switches(f"/proc/{pid}/task/{tid}/status")
        except (OSError, ValueError):
            continue
        voluntary += one[0]
        involuntary += one[1]
    return Usage(cpu, voluntary, involuntary), thread_usage(pid, pid)


def children_usage() -> Usage:
    """CPU and switches of this process's children reaped so far (wrk's, once its
    ``subprocess.run`` returned)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Usage(children.ru_utime + children.ru_stime, children.ru_nvcsw, children.ru_nivcsw)


def machine_seconds() -> tuple[float, float]:
    """(all CPU time of every core, of it idle and iowait) in seconds, from /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0, 0.0
    return sum(fields) / _TICK, (fields[3] + fields[4]) / _TICK


@dataclass
class Snapshot:
    """Every figure of one moment (see the module's docstring)."""

    arbiter: Usage
    workers: Usage
    serving: Usage  # the workers' main threads (gunicorn's sync loop: the requests)
    collector: Usage
    reaped: Usage  # the reaped children: wrk's, by difference
    machine: tuple[float, float]
    posts: int = 0
    logs: int = 0
    extra: dict[str, float] = field(default_factory=dict)


def snapshot(arbiter: int, workers: Iterable[int], collector: int, posts: int = 0,
             logs: int = 0) -> Snapshot:
    whole = serving = Usage()
    for pid in workers:
        one, main = process_usage(pid)
        whole, serving = whole + one, serving + main
    return Snapshot(arbiter=process_usage(arbiter)[0], workers=whole, serving=serving,
                    collector=process_usage(collector)[0], reaped=children_usage(),
                    machine=machine_seconds(), posts=posts, logs=logs)


def per_request(before: Snapshot, after: Snapshot, requests: int) -> dict[str, float]:
    """Microseconds of CPU (and switches) per request between two snapshots, each process
    apart; the collector's CPU per POST and per log too."""
    requests = max(1, requests)

    def us(value: float) -> float:
        return round(value / requests * 1e6, 1)

    def each(value: float) -> float:
        return round(value / requests, 3)

    workers = after.workers - before.workers
    serving = after.serving - before.serving
    collector = after.collector - before.collector
    wrk = after.reaped - before.reaped
    arbiter = after.arbiter - before.arbiter
    total = after.machine[0] - before.machine[0]
    idle = after.machine[1] - before.machine[1]
    named = workers.cpu + arbiter.cpu + collector.cpu + wrk.cpu
    posts = after.posts - before.posts
    logs = after.logs - before.logs
    return {
        "workers_cpu_us": us(workers.cpu),
        "of_it_serving_threads_us": us(serving.cpu),
        "of_it_other_threads_us": us(workers.cpu - serving.cpu),
        "arbiter_cpu_us": us(arbiter.cpu),
        "wrk_cpu_us": us(wrk.cpu),
        "collector_cpu_us": us(collector.cpu),
        "machine_cpu_us": us(total - idle),
        "machine_idle_us": us(idle),
        # Everything on the cores that none of the processes above accounts for: other
        # processes (a shared machine's load), interrupts.
        "others_cpu_us": us(total - idle - named),
        "workers_voluntary_switches": each(workers.voluntary),
        "workers_involuntary_switches": each(workers.involuntary),
        "serving_threads_voluntary_switches": each(serving.voluntary),
        "serving_threads_involuntary_switches": each(serving.involuntary),
        "wrk_voluntary_switches": each(wrk.voluntary),
        "wrk_involuntary_switches": each(wrk.involuntary),
        "collector_voluntary_switches": each(collector.voluntary),
        "collector_involuntary_switches": each(collector.involuntary),
        "posts_per_request": round(posts / requests, 4),
        "logs_per_post": round(logs / posts, 2) if posts else 0.0,
        "collector_cpu_us_per_post": round(collector.cpu / posts * 1e6, 1) if posts else 0.0,
        "collector_cpu_us_per_log": round(collector.cpu / logs * 1e6, 2) if logs else 0.0,
    }
