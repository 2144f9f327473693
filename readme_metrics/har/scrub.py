"""Where in a HAR entry the caller's key is masked (SPEC 6): the url and its query, the
cookies, the form and multipart fields, the status text, the bodies, in the request and
the response, for the key and each of its other spellings (its aliases).

How one string is masked is :class:`~readme_metrics.har.credentials.CallerKey`'s job;
this module only walks an entry built by :mod:`readme_metrics.har.build` and hands each
string to the right method. Headers are masked while they are built
(:func:`readme_metrics.har.headers.headers`); the key's base64 in the url, the headers,
the cookies and the fields is :mod:`.scrub_base64`'s (importable from here as before).
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from typing import Any, Optional

from readme_metrics.har.body_compressed import holds, starts_compressed
from readme_metrics.har.credentials import URL_HEADERS, CallerKey
from readme_metrics.har.key_base64 import masked_base64_runs
from readme_metrics.har.key_base64_percent import masked_encoded_runs
from readme_metrics.har.pairs import parse_query
from readme_metrics.har.scrub_base64 import base64_fields as _base64_fields
from readme_metrics.har.scrub_base64 import masked_base64
from readme_metrics.har.scrub_base64 import masked_value as _masked_value
from readme_metrics.har.text import FORM, content_type, is_textual
from readme_metrics.masking import mask

__all__ = ["_masked_value", "masked_base64", "scrub_entry"]


def _records(key: CallerKey, records: list[dict[str, Any]]) -> None:
    """Mask the key in HAR ``{name, value}`` records (a file part's name and data too)."""
    # CallerKey.may_hold, inlined as in headers(): it runs for every name and value of the
    # query, the cookies and the fields, and a method call costs more than the test. The
    # length first (a value equal to the key is one holding it): most values are shorter.
    whole, inside, numeric = key.key, key.inside, key.numeric
    shortest, spaced = len(whole), " " in whole
    for record in records:
        if len(record) == 2:
            # {name, value} (a query pair, a cookie, a form field): its two strings read
            # directly, without a loop over the fields.
            name, value = record["name"], record["value"]
            if name.__class__ is str and value.__class__ is str:
                if len(name) >= shortest and (
                        whole in name or "\\" in name or inside and (
                            "%" in name or (spaced and "+" in name))) or (
                        numeric and key.numbers_in(name)):
                    record["name"] = key.name(name)
                if len(value) >= shortest and (
                        whole in value or "\\" in value or inside and (
                            "%" in value or (spaced and "+" in value))) or (
                        numeric and key.numbers_in(value)):
                    record["value"] = key.text(value)
                continue
        # A file part's data URL repeats its contentType and fileName: as they were built.
        part_type, file_name = record.get("contentType"), record.get("fileName")
        for field, value in record.items():
            if value.__class__ is not str and not isinstance(value, str):
                continue
            if field == "value" and "fileName" in record:
                record[field] = key.data_url(
                    value, part_type if isinstance(part_type, str) else None,
                    file_name if isinstance(file_name, str) else None)
            elif len(value) >= shortest and (
                    whole in value or "\\" in value or inside and (
                        "%" in value or (spaced and "+" in value))) or (
                    numeric and key.numbers_in(value)):
                record[field] = key.name(value) if field == "name" else key.text(value)


def scrub_entry(entry: dict[str, Any], caller: Optional[CallerKey],
                response_type: Optional[str] = None, max_body_bytes: int = 1 << 18) -> None:
    """Mask the caller's key in the url, query and bodies of ``entry`` (in place).

    Headers and cookies are done while they are built
    (:func:`readme_metrics.har.headers.headers`, and ``request_cookies`` and
    ``response_cookies`` of :mod:`readme_metrics.har.cookies`); an alias of the key in
    all of them here.
    ``response_type``: the response's Content-Type as sent, when its ``mimeType`` may be
    redacted (an allowlist): it tells a form, whose values are masked one by one.
    ``max_body_bytes``: the most read of each layer a binary body holds compressed.
    """
    if caller is None:
        return
    _scrub(entry, caller, response_type, built=True)
    for side in (entry["request"].get("postData"), entry["response"]["content"]):
        if side is not None:
            _hide_compressed_key(side, caller, max_body_bytes)
    if caller.inside:
        _base64_fields(entry, caller)
    for alias in caller.aliases:
        _aliased_headers(entry, alias)
        _scrub(entry, alias, response_type)
        if alias.inside:
            _base64_fields(entry, alias)


def _aliased_headers(entry: dict[str, Any], alias: CallerKey) -> None:
    """Mask an alias in the headers (and so cookies), which :func:`scrub_entry` leaves to
    :func:`readme_metrics.har.headers.headers`, done for the key itself: a credential
    header or cookie masked as the alias shows the key's mask, as in ``group.id``."""
    hidden = mask(alias.key)
    response = entry["response"]
    for side in (entry["request"], response):
        for record in side["headers"]:
            value = record["value"]
            if value == hidden:
                record["value"] = alias.masked
            elif record["name"].lower() in URL_HEADERS:
                record["value"] = alias.url(value)
            elif alias.may_hold(value):
                record["value"] = alias.text(value)
        for cookie in side["cookies"]:
            if cookie.get("value") == hidden:
                cookie["value"] = alias.masked
    response["redirectURL"] = alias.url(response["redirectURL"])


def _scrub(entry: dict[str, Any], caller: CallerKey, response_type: Optional[str],
           built: bool = False) -> None:
    """:func:`scrub_entry` for one spelling of the key, headers aside; ``built``: the
    cookies aside too (the key itself: masked while they were built)."""
    request, response = entry["request"], entry["response"]
    url = caller.url(request["url"])
    if url != request["url"]:
        entry["pageref"] = request["url"] = url
        # queryString is the masked url's, as SPEC 4 reads it (the key may have spanned
        # pairs, or been a value after a "#" in one: a=1#k=key).
        request["queryString"] = [{"name": name, "value": value}
                                  for name, value in parse_query(url.partition("?")[2])]
    # queryString is the url's query read as pairs (build_entry, or just above): a query
    # with no "%", "+" or backslash is its names and values as they are, so one without
    # the key either has nothing for _records to mask (a number key's other spellings
    # are looked for in every value).
    query = url.partition("?")[2]
    if (caller.key in query or "%" in query or "+" in query or "\\" in query
            or caller.numeric):
        _records(caller, request["queryString"])
    # (Most requests send no Cookie, most responses no Set-Cookie: no call for them.)
    if not built:
        if request["cookies"]:
            _records(caller, request["cookies"])
        if response["cookies"]:
            _records(caller, response["cookies"])
    # The method is the client's text (a token, any: servers pass it on).
    # (caller.may_hold behind its inline length test: both are shorter than most keys.)
    method, reason = request["method"], response["statusText"]
    if len(method) >= caller.shortest and caller.may_hold(method):
        request["method"] = caller.text(method)
    # The status line's reason phrase is the app's text ("401 Unknown key k3y..."), as is
    # the comment quoting a status no status code could carry.
    if len(reason) >= caller.shortest and caller.may_hold(reason):
        response["statusText"] = caller.text(reason)
    if "comment" in response:
        response["comment"] = caller.text(response["comment"])
    post = request.get("postData")
    if post is not None:
        if "params" in post:
            _records(caller, post["params"])
            params = post["params"]
            if "comment" in post and params and isinstance(params[-1].get("value"), str):
                params[-1]["value"] = caller.cut(params[-1]["value"], post["comment"])
        elif "text" in post:
            is_base64 = post.get("comment", "").startswith("base64")
            if is_base64:
                post["text"] = _base64_body(caller, post["text"], post.get("mimeType"))
            else:
                post["text"] = _body(caller, post["text"])
            if "comment" in post:
                post["text"] = (caller.cut_base64 if is_base64 else caller.cut)(
                    post["text"], post["comment"])
    content = response["content"]
    if "text" in content:
        if content.get("encoding") == "base64":
            content["text"] = _base64_body(caller, content["text"],
                                           response_type or content.get("mimeType"))
        elif content_type(response_type or content.get("mimeType"))[0] == FORM:
            content["text"] = caller.form(content["text"])
            if caller.inside:
                # The key base64-encoded in it (an echo of a Basic credential).
                content["text"] = masked_encoded_runs(masked_base64_runs(
                    content["text"], caller.key, caller.masked), caller.key, caller.masked)
        else:
            content["text"] = _body(caller, content["text"])
        if "comment" in content:
            content["text"] = (caller.cut_base64 if "encoding" in content else caller.cut)(
                content["text"], content["comment"])


#: The comment of a binary body hidden whole: what it holds compressed (no coding
#: declared for it) spells the caller's key.
COMPRESSED_KEY_COMMENT = "body holds the caller's key compressed, so it was redacted whole"


def _hide_compressed_key(side: dict[str, Any], caller: CallerKey, limit: int) -> None:
    """Redact whole a base64 body (``postData`` or ``content``) a layer of whose
    compressed data spells the caller's key or one of its aliases as a text body's is
    masked (:mod:`.body_compressed`; within its bounds): the base64 shows it to anyone
    who gunzips it. The key's masks are plain text, so the bytes are read first."""
    encoded = side.get("text")
    if not isinstance(encoded, str) or not (
            side.get("encoding") == "base64" or side.get("comment", "").startswith("base64")):
        return
    try:
        if not starts_compressed(b64decode(encoded[:8])):
            return
        data = b64decode(encoded, validate=True)
    except ValueError:
        return
    keys = (caller, *caller.aliases)

    def spelled(reading: bytes) -> bool:
        text = reading.decode("latin-1")
        return any(_body(key, text) != text for key in keys)

    if holds(data, spelled, limit, whole=False):
        side.pop("encoding", None)
        side["text"], side["comment"] = "[REDACTED]", COMPRESSED_KEY_COMMENT


def _base64_body(caller: CallerKey, encoded: str, mime_type: Optional[str]) -> str:
    """A base64 body with the key's bytes masked (:meth:`CallerKey.base64`); under a text
    type (binary data sent as JSON, text/*: text.decode's control bytes), the key's
    spellings in text too (a JSON escape, percent-encoding, its base64: :func:`_body`),
    in the bytes read as latin-1, as such a body was when it was recorded as text."""
    encoded = caller.base64(encoded)
    if not is_textual(content_type(mime_type)[0]):
        return encoded
    try:
        text = b64decode(encoded, validate=True).decode("latin-1")
    except ValueError:
        return encoded
    masked = _body(caller, text)
    if masked == text:
        return encoded
    try:
        data = masked.encode("latin-1")  # what _body writes is ASCII: a mask, an escape
    except UnicodeEncodeError:
        data = masked.encode("utf-8")
    return b64encode(data).decode("ascii")


def _body(caller: CallerKey, text: str) -> str:
    """A body's text with the key masked (:meth:`CallerKey.body`) and, for a long key,
    its base64 spellings (an echo of a Basic credential: :func:`masked_base64_runs`);
    the scan for a backslash both need made once (one of 100 KB is ~12k instructions)."""
    if not caller.inside:
        return caller.body(text)
    backslash = "\\" in text
    masked = caller.body(text, backslash)
    # (What body() writes instead may hold a backslash the text did not: a JSON string.)
    # Percent-encoded too (a form's value or a URL quoted in a JSON or text body: its
    # "+" and "/" as %2B, %2F, which no search of it as written finds).
    return masked_base64_runs(masked, caller.key, caller.masked,
                              backslash=backslash if masked is text else None, percent=True)
