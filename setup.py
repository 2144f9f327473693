import re
from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'__version__ = "([^"]+)"', (HERE / "readme_metrics" / "version.py").read_text()
).group(1)

setup(
    name="readme-metrics",
    version=VERSION,
    description=("Send every call to your Python API (WSGI or ASGI: Flask, Django, FastAPI, "
                 "...) to ReadMe's API Metrics dashboard"),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    # Every folder under readme_metrics/ is a package, code or data (dashboard/), so a new
    # subpackage ships without an edit here; its data files come from MANIFEST.in.
    packages=find_namespace_packages(
        include=["readme_metrics", "readme_metrics.*"], exclude=["*.__pycache__"]
    ),
    package_data={"readme_metrics": ["py.typed"], "readme_metrics.dashboard": ["*"]},
    include_package_data=True,
    python_requires=">=3.9",
    # Floors run by `tox -e min`. environs before 11 fails to import with marshmallow 4,
    # which pip picks for them; WebOb 1.8.9 is the first without the cgi module that
    # Python 3.13 removed.
    install_requires=["requests>=2.25", "webob>=1.8.3", "environs>=11.0",
                      "webob>=1.8.9; python_version >= '3.13'"],
    extras_require={
        "flask": ["flask>=2.0"],
        "django": ["django>=3.2"],
        "fastapi": ["starlette>=0.20"],
        # A native JSON encoder, used automatically when installed (same JSON either way).
        "fast": ["orjson>=3.6"],
        "test": [
            "pytest>=7",
            "pytest-xdist>=3.2",  # -n 6 --dist worksteal, in pyproject.toml's addopts
            # a test that hangs fails with every thread's stack (pyproject.toml's timeout)
            # instead of holding CI's 90 minutes
            "pytest-timeout>=2.1",
            "orjson>=3.6",
            "hypothesis>=6",
            "jsonschema>=4",
            "flask>=2.0",
            "django>=3.2",
            "werkzeug>=2.0",
            "waitress>=2.1",
            "gunicorn>=21",
            "bottle>=0.12",
            # WebTest's TestApp, a Bottle app's usual test client (tests/test_review98_findings.py)
            "webtest>=3",
            # SPEC 1's other frameworks (tests/test_frameworks.py)
            "pyramid>=2.0",
            # pyramid 2.0 (the newest for Python 3.9) imports pkg_resources, which
            # setuptools 81 removed
            "setuptools<81; python_version < '3.10'",
            "falcon>=3.1",
            "quart>=0.19",
            "litestar>=2.0",
            "fastapi>=0.100",
            "starlette>=0.20",
            "uvicorn>=0.20",
            # gunicorn -k uvicorn_worker.UvicornWorker, README's FastAPI quick start
            # (tests/test_newcomer25_findings.py)
            "uvicorn-worker>=0.2",
            # uvicorn --http=httptools (tests/test_asgi_conformance.py); h2 comes with
            # hypercorn (the HTTP/2 cases there)
            "httptools>=0.5; platform_python_implementation == 'CPython'",
            # uvicorn's --loop auto picks uvloop when it is installed (uvicorn[standard]
            # installs it: what most FastAPI users run), so the uvicorn tests run on it;
            # uvloop has no Windows build.
            "uvloop>=0.17; sys_platform != 'win32'"
            " and platform_python_implementation == 'CPython'",
            "hypercorn>=0.14",
            "sanic>=23.6",  # README's Sanic row (tests/test_newcomer19_findings.py)
            "trio>=0.22",  # hypercorn --worker-class trio (tests/test_asgi_servers.py)
            "daphne>=4.0",  # Django's ASGI server (tests/test_asgi_client_got.py)
            # sentry's ASGI middleware wrapped (tests/test_review91_findings.py)
            "sentry-sdk>=1.0",
            "wrapt>=1.14",  # a wrapt decorator's app (tests/test_review91_findings.py)
            # gunicorn -k gevent (tests/test_greenlet_servers.py); gunicorn 27 has no
            # eventlet worker any more, so eventlet is not here (its cases skip).
            "gevent>=22; platform_python_implementation == 'CPython'",
            "cheroot>=10",  # CherryPy's WSGI server (tests/test_cheroot_daphne.py)
            "httpx>=0.24",  # tests/test_asgi.py drives apps through httpx.ASGITransport
            # Starlette's TestClient is built on httpx2 when it is installed (on httpx it
            # warns that httpx is deprecated there).
            "httpx2>=2.0",
            "python-multipart>=0.0.9",
            "websockets>=10",
            "granian>=1.0; platform_python_implementation == 'CPython'",
            # br and zstd bodies decompressed (tests/test_hostile21_findings.py; each
            # case skips without them): used when installed, never a dependency
            "brotli>=1.2",
            "zstandard>=0.18",
            # the compressing middlewares whose br/zstd answers those tests record
            "Flask-Compress>=1.14",
            "starlette-compress>=1.0",
            # uWSGI as binary wheels (no compiler); uWSGI has no Windows build.
            "pyuwsgi>=2.0.21; sys_platform != 'win32'"
            " and platform_python_implementation == 'CPython'",
            "ruff",
            "mypy",
            "types-requests",
            # tests/test_sdist.py builds the sdist and wheel in this environment
            "build>=1",
            "setuptools>=70",
            "wheel",
        ],
    },
    entry_points={"console_scripts": ["readme-metrics=readme_metrics.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Framework :: Django",
        "Framework :: Flask",
        "Framework :: FastAPI",
        "Topic :: Internet :: WWW/HTTP :: WSGI :: Middleware",
        # py.typed ships in the wheel (package_data above)
        "Typing :: Typed",
    ],
)
