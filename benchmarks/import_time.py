"""Import time of the library: what a cold start pays (a gunicorn worker recycled by
--max-requests without --preload, a serverless cold start, a ``flask run`` reload).

.. code-block:: sh

    python benchmarks/import_time.py                      # 15 rounds, JSON on stdout
    python benchmarks/import_time.py --rounds 31 --callgrind
    python benchmarks/import_time.py --no-bytecode        # every module compiled from source

Each round starts one fresh interpreter per case, in turn (so a change of the machine's
load falls on every case alike), and each reports the CPU time (``process_time``) and the
wall time of its imports. A case is a framework's own import (``flask``, ``django.http``,
``fastapi``) then the library's module for it; its figure less the framework's alone, in
the same round, is what the library adds to an app (a module both import counts once, in
the framework's). Medians over the rounds; CPU time is the steadier figure on a shared
machine, wall time includes the waits for a core.

Bytecode: an installed package has its ``.pyc`` files; ``PYTHONDONTWRITEBYTECODE=1`` (set
on the project's machines) makes every import compile the sources again, nearly doubling
the figure. The run unsets it and writes the bytecode to a temporary
``PYTHONPYCACHEPREFIX`` first (one warm-up import of each case), unless
``--no-bytecode``.

Also: the median self-time (``-X importtime``) of the library's slowest modules, the
regular expressions the library's modules compile at import, and with ``--callgrind``
the instructions (Ir, valgrind's callgrind: load does not move it) of ``import
readme_metrics`` and of ``import readme_metrics.flask_readme``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent

#: (name, framework's import or "", the library's module).
CASES = [
    ("readme_metrics", "", "readme_metrics"),
    ("flask", "flask", "readme_metrics.flask_readme"),
    ("django", "django.http", "readme_metrics.django"),
    ("fastapi", "fastapi", "readme_metrics.fastapi"),
]

TIMED = """
import sys, time
cpu, wall = time.process_time(), time.perf_counter()
for name in sys.argv[1:]:
    __import__(name)
print(time.process_time() - cpu, time.perf_counter() - wall)
"""

#: Counts the regular expressions compiled while the library's modules are imported
#: (re's cache misses, by the module that asked), the same way as the test.
COMPILES = """
import collections, json, re, sys
from re import _compiler
counts = collections.Counter()
compile = _compiler.compile
def counted(pattern, flags=0):
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("re"):
        if frame.f_globals["__name__"].startswith("readme_metrics"):
            break
        frame = frame.f_back
    counts[frame.f_globals.get("__name__", "?") if frame is not None else "?"] += 1
    return compile(pattern, flags)
_compiler.compile = counted
__import__(sys.argv[1])
print(json.dumps(dict(counts)))
"""


def environment(cache: Optional[str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [
        part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part])
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=True,
                          timeout=300, cwd=tempfile.gettempdir())


def timed(modules: list[str], env: dict[str, str]) -> tuple[float, float]:
    if not modules:  # the interpreter alone: nothing to import
        return 0.0, 0.0
    cpu, wall = run([sys.executable, "-c", TIMED, *modules], env).stdout.split()
    return float(cpu), float(wall)


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def rounds(count: int, env: dict[str, str]) -> dict[str, Any]:
    samples: dict[str, dict[str, list[float]]] = {
        name: {"cpu": [], "wall": [], "framework_cpu": [], "framework_wall": [],
               "added_cpu": [], "added_wall": []} for name, _, _ in CASES}
    for _ in range(count):
        for name, framework, module in CASES:
            base = [framework] if framework else []
            framework_cpu, framework_wall = timed(base, env)
            cpu, wall = timed(base + [module], env)
            sample = samples[name]
            sample["cpu"].append(cpu)
            sample["wall"].append(wall)
            sample["framework_cpu"].append(framework_cpu)
            sample["framework_wall"].append(framework_wall)
            sample["added_cpu"].append(cpu - framework_cpu)
            sample["added_wall"].append(wall - framework_wall)
    return {name: {f"{key}_ms": median_ms(values) for key, values in sample.items()}
            for name, sample in samples.items()}


def self_times(count: int, env: dict[str, str], module: str, top: int) -> dict[str, Any]:
    """Median ``-X importtime`` self-times (ms) of the library's modules."""
    per: dict[str, list[float]] = {}
    ours, theirs = [], []
    for _ in range(count):
        err = run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                  env).stderr
        mine = other = 0
        for line in err.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, _, name = line[len("import time:"):].split("|")
            name = name.strip()
            if name.startswith("readme_metrics"):
                per.setdefault(name, []).append(int(own) / 1000)
                mine += int(own)
            else:
                other += int(own)
        ours.append(mine / 1e6)
        theirs.append(other / 1e6)
    medians = sorted(((statistics.median(v), k) for k, v in per.items()), reverse=True)
    return {"module": module, "runs": count, "ours_self_ms": median_ms(ours),
            "others_self_ms": median_ms(theirs),
            "top_self_ms": {name: round(ms, 2) for ms, name in medians[:top]}}


def compiles(env: dict[str, str], module: str) -> dict[str, Any]:
    counts = json.loads(run([sys.executable, "-c", COMPILES, module], env).stdout)
    ours = {k: v for k, v in counts.items() if k.startswith("readme_metrics")}
    return {"module": module, "ours": sum(ours.values()), "all": sum(counts.values()),
            "by_module": dict(sorted(ours.items(), key=lambda kv: -kv[1]))}


def callgrind(env: dict[str, str], module: str) -> int:
    """Instructions (Ir) of a whole interpreter importing ``module``, less one that
    imports nothing."""
    totals = []
    for code in ("pass", f"import {module}"):
        with tempfile.TemporaryDirectory() as folder:
            out = os.path.join(folder, "callgrind.out")
            run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                 sys.executable, "-c", code], env)
            total = 0
            for path in glob.glob(out + "*"):
                for line in Path(path).read_text(errors="replace").splitlines():
                    if line.startswith(("summary:", "totals:")):
                        total = int(line.split()[1])
            totals.append(total)
    return totals[1] - totals[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--importtime-runs", type=int, default=9)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile every module from source (PYTHONDONTWRITEBYTECODE)")
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-time-pyc-") as folder:
        env = environment(None if args.no_bytecode else folder)
        for _, framework, module in CASES:  # the warm-up: writes the bytecode
            timed([framework, module] if framework else [module], env)
        result: dict[str, Any] = {
            "python": sys.version.split()[0],
            "bytecode": not args.no_bytecode,
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "rounds": args.rounds,
            "cases": rounds(args.rounds, env),
            "self_times": self_times(args.importtime_runs, env,
                                     "readme_metrics.flask_readme", args.top),
            "regex_compiles": compiles(env, "readme_metrics.flask_readme"),
        }
        if args.callgrind:
            result["callgrind_ir"] = {
                module: callgrind(env, module)
                for module in ("readme_metrics", "readme_metrics.flask_readme")}
        result["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
