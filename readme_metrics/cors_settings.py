"""The CORS middleware's options: read from arguments and the environment, checked once.

:class:`readme_metrics.cors.CORSMiddleware` answers requests; this module decides, once at
start-up, what it answers with: each option from its argument, else its environment
variable (also from ``.env``), else its default, checked and normalised so that the
per-request path only compares strings. Invalid configuration raises ``ValueError`` naming
the option and the variable.

It also holds the one definition of an origin (:func:`normalise_origin`), used for the
configured origins here and for the request's ``Origin`` header by the middleware.
"""

from __future__ import annotations

import contextlib
import logging
import re
import typing as t
from dataclasses import dataclass

from readme_metrics._env import blamed, flag, setting
from readme_metrics._http import is_token
from readme_metrics._logging import QuietLogger, reloader_parent
from readme_metrics._wording import wrong_type

__all__ = ["CORSSettings", "normalise_origin"]

# A serialised origin as browsers send it: scheme://host[:port], nothing else (no path,
# no user info, no spaces). "null" (sandboxed frames, file:// pages) does not match.
_ORIGIN = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~]+)"
    r"(?::(?P<port>[0-9]{1,5}))?\Z"
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

_DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# Ten minutes: preflights are cached by the browser that long, yet a configuration
# change still reaches every client quickly (Chromium caps the value at two hours).
_DEFAULT_MAX_AGE = 600


def normalise_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case without its default port, or None."""
    match = _ORIGIN.match(origin.strip())
    if match is None:
        return None
    scheme, host, port = match.group("scheme", "host", "port")
    scheme, host = scheme.lower(), host.lower()
    if port is not None:
        number = int(port)
        if number > 65535:
            return None
        if number != _DEFAULT_PORTS.get(scheme):
            return f"{scheme}://{host}:{number}"
    return f"{scheme}://{host}"


@dataclass(frozen=True)
class CORSSettings:
    """What the CORS middleware allows; :meth:`read` builds it (see the middleware's table).

    ``allowed_origins`` holds normalised origins; ``*`` is ``allow_any`` instead. A ``*``
    in ``allow_methods`` or ``allow_headers`` means "echo what the preflight asks for".
    """

    allow_any: bool
    allowed_origins: t.FrozenSet[str]
    allow_credentials: bool
    allow_methods: t.List[str]
    allow_headers: t.List[str]
    expose_headers: t.List[str]
    max_age: int

    @classmethod
    def read(cls, **given: t.Any) -> CORSSettings:
        """Each option as given (the middleware's keyword arguments; None or left out =
        not given), else from its variable, else its default; checked."""
        given_origins = given.get("allowed_origins")
        value = setting("allowed_origins", "CORS_ALLOWED", given_origins, "str")
        with blamed("CORS_ALLOWED", given_origins, items=True):
            origins = _names("allowed_origins", "CORS_ALLOWED", value or ())
            allowed = frozenset(
                _configured_origin(origin) for origin in origins if origin != "*")
        settings = cls(
            allow_any="*" in origins,
            allowed_origins=allowed,
            allow_credentials=flag("allow_credentials", "CORS_ALLOW_CREDENTIALS",
                                   given.get("allow_credentials"), False),
            allow_methods=[
                method.upper() for method in _token_list(
                    "allow_methods", "CORS_ALLOW_METHODS", given.get("allow_methods"),
                    _DEFAULT_METHODS)
            ],
            allow_headers=_token_list(
                "allow_headers", "CORS_ALLOW_HEADERS", given.get("allow_headers"), "*"),
            expose_headers=_token_list(
                "expose_headers", "CORS_EXPOSE_HEADERS", given.get("expose_headers"), ()),
            max_age=_seconds("max_age", "CORS_MAX_AGE", given.get("max_age")),
        )
        if settings.allow_any and settings.allow_credentials and not reloader_parent():
            # Legal (the origin is echoed, never "*"), but it lets any site send
            # credentialed requests: say so once, where the operator will see it (by the
            # process that serves, not a dev server's reloader making the app too).
            # Through QuietLogger: a filter or handler of the app's that raises must not
            # make building the middleware fail.
            QuietLogger(logging.getLogger("readme_metrics")).warning(
                "CORS allows any origin with credentials"
            )
        return settings


def _names(option: str, variable: str, value: t.Any) -> list[str]:
    """A comma-separated string or a sequence of strings, as a clean list."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, t.Iterable) and not isinstance(value, (bytes, bytearray)):
        items = list(value)
    else:
        items = [value]  # refused just below, with the option's name
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"readme_metrics: {option} ({variable}) must be strings, got {value!r}")
    return [item.strip() for item in items if item.strip()]


def _tokens(option: str, variable: str, value: t.Any) -> list[str]:
    names = _names(option, variable, value)
    for name in names:
        if name != "*" and not is_token(name):
            raise ValueError(
                f"readme_metrics: {option} ({variable}) has an invalid name {name!r}"
            )
    return names


def _configured_origin(value: str) -> str:
    """Normalise one configured origin; IDN hosts become punycode as browsers send them."""
    text = value.strip().rstrip("/")
    scheme, sep, hostport = text.partition("://")
    if sep and not hostport.isascii():
        host, colon, port = hostport.partition(":")
        # A host idna cannot encode stays as is and is reported just below.
        with contextlib.suppress(UnicodeError):
            text = scheme + sep + host.encode("idna").decode("ascii") + colon + port
    origin = normalise_origin(text)
    if origin is None:
        raise ValueError(
            "readme_metrics: allowed_origins (CORS_ALLOWED) entries must be "
            f"'scheme://host[:port]' or '*', got {value!r}"
        )
    return origin


def _token_list(option: str, variable: str, given: t.Any, default: t.Any) -> list[str]:
    value = setting(option, variable, given, "str")
    with blamed(variable, given, items=True):
        return _tokens(option, variable, default if value is None else value)


def _seconds(option: str, variable: str, given: t.Any) -> int:
    expects = "a whole number of seconds >= 0"
    age = setting(option, variable, given, "int", expects)
    age = _DEFAULT_MAX_AGE if age is None else age
    if isinstance(age, bool) or not isinstance(age, int):
        # Only an argument can be of another type (the variable is parsed as an int).
        raise ValueError(wrong_type(option, variable, "an int of seconds >= 0", age))
    if age < 0:
        with blamed(variable, given, items=False):
            raise ValueError(f"readme_metrics: {option} ({variable}) must be {expects}, "
                             f"got {age!r}")
    return age
