"""What the log says of a grouping function's result that gives no group, and why.

Each line names what was wrong and what to return instead, with the names the result had
but never its values (a value may be the caller's key): the shape to return for a result
that is no mapping, the keys of a mapping with no usable ``api_key`` (and the near miss
among them), the note of a body cut at ``max_body_bytes`` that the function read, and the
lines said once (a None, a key that is a user's id).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from readme_metrics.capture.body import MAYBE_LONGER

__all__ = ["AWAITABLE", "BODY_CUT", "LEFT_OUT", "LONG_NUMBER_KEY", "NO_KEY_BODY_CUT",
           "READMES_KEY", "SHORT_NUMBER_KEY", "awaitable_value", "cut_note", "no_key",
           "not_a_mapping", "unknown_keys"]

_DOCUMENTED_KEYS = "api_key, label, email"  # "id" is the official package's older name


def _shape_for(result: Any) -> str:
    """The shape to return, for a grouping function's result that is no mapping: the key
    alone, a tuple, the caller's own object (Django's request.user, a FastAPI user
    model); for a bool (``return False`` meant as "do not log"), None first."""
    shape = '{"api_key": <the caller\'s key>, "label": ..., "email": ...}'
    if isinstance(result, bool):
        return f" (return None, not {result}, to leave a call out, and {shape} to log it)"
    if isinstance(result, (str, bytes)) and result.lstrip()[:1] in ("{", b"{"):
        # json.dumps({...}): the mapping as a view's body, not the key (newcomer26)
        return f" (return the mapping itself, {shape}, not its JSON text)"
    if isinstance(result, (str, bytes, int)):
        return f" (return {shape}, not the key alone)"
    as_dict = _as_dict(result)
    if as_dict is not None:
        return f" (return {shape}, or {as_dict})"
    return f" (return {shape})"


def _as_dict(result: Any) -> Optional[str]:
    """For the caller's own record that has an ``api_key`` (or ``id``) field, the call
    that makes it the mapping (newcomer31: a FastAPI dependency's user model, a
    dataclass, returned whole). Read from the class only: nothing of the app's object is
    called here, in the request thread."""
    kind = type(result)
    try:
        fields = getattr(kind, "__dataclass_fields__", None)
        if isinstance(fields, dict) and _has_key(fields):
            return "dataclasses.asdict(it)"
        fields = getattr(kind, "model_fields", None)  # pydantic 2
        if isinstance(fields, dict) and _has_key(fields):
            return "its .model_dump(include={\"api_key\", \"label\", \"email\"})"
        fields = getattr(kind, "_fields", None)  # a namedtuple
        if isinstance(result, tuple) and isinstance(fields, tuple) and _has_key(fields):
            return "its ._asdict()"
    except Exception:  # noqa: BLE001 - a class of the app's that refuses to be read
        return None
    return None


def _has_key(names: Any) -> bool:
    return "api_key" in names or "id" in names


def not_a_mapping(result: Any) -> str:
    """The error for a result that is neither a mapping nor None (nor an awaitable)."""
    return ("the grouping function must return a mapping or None, "
            f"got {type(result).__name__}" + _shape_for(result) + "; the request is not logged")


def unknown_keys(extra: list[str]) -> str:
    """The warning for the keys of a result other than the known ones (already hidden)."""
    return ("the grouping function returned unknown keys "
            f"{', '.join(extra)}; they are dropped (known: {_DOCUMENTED_KEYS})")


def _shown(value: Any) -> str:
    """A key that is no key, for the error: its value when it cannot be a secret (None, a
    bool, a blank string, a float), else only its type."""
    if value is None or isinstance(value, (bool, float)) or (
            isinstance(value, str) and not value.strip()):
        return repr(value)
    return f"of type {type(value).__name__}"


# An ASGI scope's raw headers (dict(scope["headers"])[b"x-api-key"]), a database driver's
# column: a key as bytes, refused with no word of what to do (newcomer31). Not decoded
# here: text of another charset would be a different caller's key.
_BYTES_HINT = (" (a key read as bytes, from an ASGI scope's raw headers or a database "
               "column: decode it, {\"api_key\": key.decode()})")


def no_key(result: Mapping[Any, Any]) -> str:
    """Why a mapping gave no usable key: the names it had (never their values), or the
    unusable value (only its type when it could hold the key), so a misspelled key shows
    at once."""
    for name in ("api_key", "id"):
        if name in result:
            value = result[name]
            # {"api_key": request.headers.get("X-Api-Key")}: None for a call without the
            # header, which README's quick starts leave out with `return None`.
            hint = (" (for a call with no caller, return None rather than a mapping: "
                    "such calls are then left out without this error)"
                    if value is None or (isinstance(value, str) and not value.strip())
                    else _BYTES_HINT if isinstance(value, (bytes, bytearray, memoryview))
                    else "")
            return (f"the grouping function returned {name!r} {_shown(value)}, which "
                    "is not a key (a non-blank string or a number); the request is not "
                    f"logged{hint}")
    names = ", ".join(sorted(str(name) for name in result)) or "none"
    # The Node SDK's apiKey (and other spellings of it): named, as the reader may not see
    # the difference in the list; so are the caller's key or id under a name of its own
    # ({"key": ...}, {"user_id": ...}: newcomer36), a key's name before an id's.
    found = {_plain(name): name for name in result if isinstance(name, str)}
    meant = next((found[word] for word in _MEANT if word in found), None)
    return (f"the grouping function returned no 'api_key' (its keys: {names}; known: "
            f"{_DOCUMENTED_KEYS}); the request is not logged"
            + (f" (did you mean 'api_key' for {meant!r}?"
               + ("" if _plain(meant) == "apikey" else _ANY_ID) + ")" if meant else ""))


def _plain(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


#: The names taken for the caller's key or id, in the order they are named.
_MEANT = ("apikey", "key", "apitoken", "token", "accesstoken", "callerid", "userid",
          "clientid", "customerid", "accountid", "user", "caller")
_ANY_ID = (" api_key is whatever tells your callers apart, a key or an id, always sent "
           "masked")


# The ASGI middlewares, and Django's under ASGI, await what the grouping function returns;
# the others call it from a thread with no event loop to await it on.
AWAITABLE = (
    "the grouping function returned an awaitable (an async def?), which only the ASGI "
    "middlewares (readme_metrics.asgi, readme_metrics.fastapi) and Django's under ASGI "
    "await: use a plain def here; the request is not logged")


def awaitable_value(name: str) -> str:
    """The error for a mapping whose ``name`` is an awaitable: a plain ``def`` reading the
    body as a view does, ``{"label": request.json()}`` (Starlette's ``json()``, ``body()``
    and ``form()`` are coroutines): it went out as "<coroutine object Request.json at
    0x...>", unsaid (newcomer26). A key so given logs no call; a label or email is left
    out of the call's log, which is still sent."""
    what = ("the request is not logged" if name in ("api_key", "id")
            else f"the calls are logged without their {name}")
    return (f"the grouping function returned {name!r} as an awaitable, which it did not "
            "await (Starlette's and FastAPI's request.json(), request.body() and "
            "request.form() are coroutines): under the ASGI middlewares (FastAPI's "
            "included) and Django's under ASGI, make the grouping function an async def "
            "and await it; elsewhere, read a value that needs no await (a header); "
            f"{what}")


#: Said once, the first time the grouping function returns such a key ({} its digits).
SHORT_NUMBER_KEY = (
    "the grouping function returned an api_key of {}: a user's id? As the caller's key it "
    "is masked wherever a whole value in that caller's logs equals it (an id, a count or "
    "a page number in a JSON body, the query or the path), so those show the mask; return "
    "a key that appears nowhere else, such as f\"user-{{user.pk}}\", to keep them (ReadMe "
    "groups the calls by it); said once")

#: The same for a number of MIN_SUBSTRING_KEY digits or more, masked inside other text too:
#: an order number or a timestamp holding its digits goes out with the mask in its middle.
LONG_NUMBER_KEY = (
    "the grouping function returned an api_key of {}: a user's id or an account number? "
    "As the caller's key it is masked wherever its digits occur in that caller's logs, "
    "inside longer numbers too (an order number or a timestamp holding them, in a JSON "
    "body, the query or the path, shows the mask in its middle, a JSON number turned into "
    "text); return a key that appears nowhere else, such as f\"user-{{user.pk}}\", to keep "
    "them (ReadMe groups the calls by it); said once")

#: Said once, the first time the grouping function returns the ReadMe API key itself as
#: the caller's (``{"api_key": os.environ["README_API_KEY"]}``, the two keys mixed up, or a
#: call made with the project's key): every call then shows in ReadMe as one caller
#: (newcomer30). Never the key, nor its last four characters.
READMES_KEY = (
    "the grouping function returned your ReadMe API key (MetricsApiConfig's api_key, "
    "README_API_KEY) as the caller's api_key: that key is your ReadMe project's, and "
    "api_key is meant for the key your API's caller sent you (for example "
    "request.headers.get(\"X-Api-Key\")), so ReadMe shows every such call as one caller. "
    "Return the caller's key (or, if this call was made with your ReadMe API key, call "
    "your API with a caller's key instead); the calls are still logged, the key masked "
    "as every caller's key is; said once")

#: Said at DEBUG the first time the grouping function returns None (no request data).
LEFT_OUT = ("the grouping function returned None, so this call is not logged, nor any other "
            "it returns None for (a call without the header it reads the caller's key "
            "from, for example); said once")


#: Added to the error of a grouping function that raised having been given the start of a
#: body longer than max_body_bytes (SPEC 5: such a body is never held whole): its
#: ``json()`` raised JSONDecodeError, with no word of why (twins20).
BODY_CUT = ("; the body it was given {} cut at max_body_bytes ({}): raise "
            "max_body_bytes above the bodies it reads, or read the caller from a header "
            "(or request.state, which the app sets)")


#: The same note, to a function that returned no api_key: it may not have read the body
#: at all (the key from a header the request lacked), and raising max_body_bytes was no
#: advice then (newcomer22).
NO_KEY_BODY_CUT = ("; the body it was given {} cut at max_body_bytes ({}): if it reads "
                   "the key from the body, raise max_body_bytes above the bodies it reads, "
                   "or read the caller from a header (or request.state, which the app "
                   "sets); if from a header, this request had none")


def cut_note(cut: Optional[tuple[int, int]], note: str = BODY_CUT) -> str:
    """``note`` with the sizes of a body ``cut`` (kept, whole: see ``body_cut``); ``""``
    for a body not cut."""
    if cut is None:
        return ""
    kept, whole = cut
    if whole == MAYBE_LONGER:  # the copy stopped at the limit: the app read no further
        return note.format("may have been", f"{kept} bytes kept of a chunked body, "
                           "whose end was not read")
    return note.format("was", f"{kept} of {whole if whole >= 0 else f'more than {kept}'}"
                       " bytes")
