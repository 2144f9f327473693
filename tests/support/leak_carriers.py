"""Hypothesis strategies: requests that carry one secret where a server framework reads it
as a named field, nested up to three carriers deep (a leak hunt over the whole pipeline).

:func:`planted_requests` draws a :class:`Planted` request: a denied field's value (the
name spelled in any case, percent-encoded in a form, query or URL, ``\\u``-escaped in
JSON, after a byte order mark, with JSON whitespace around it) inside JSON objects,
arrays, strings holding JSON, JSON Patch operations, name/value pairs, forms, query
strings, URLs, multipart fields and files (with and without a part type or charset) and
text/plain bodies, the body in UTF-8, UTF-16/32 or latin-1 with or without a charset;
or the caller's key in ``X-Api-Key`` or ``Authorization`` (Bearer, Token, Basic), which
the grouping function returns. Every draw is something Flask/werkzeug, Django or
Starlette hands the app as that named field (``request.form``, ``request.args``,
``json.loads(request.body)``, a string in it read as JSON or a query again).

:func:`spelled` then says where the posted batches still spell the secret: in clear,
percent-encoded, JSON-escaped, base64, UTF-16/32, at any of those nestings.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

__all__ = ["DENIED", "Planted", "api_key_caller", "planted_requests", "spelled"]

#: The denylist every planted request is logged under; the secret stands under one of
#: these names (a header, cookie, form or JSON name alike).
DENIED = ["password", "client_secret", "x-token"]


@dataclass
class Planted:
    """One request carrying ``secret``; ``how`` says where, for a failing example."""

    secret: str
    how: list[str]
    method: str = "POST"
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    api_key: str = ""  # the caller's key the grouping function returns, if any

    def request(self) -> dict[str, Any]:
        """Keyword arguments for tests.support.wsgi.wsgi_environ / contract.exchange."""
        out: dict[str, Any] = {"method": self.method, "headers": dict(self.headers),
                               "body": self.body}
        if self.query:
            out["query"] = self.query
        return out


def api_key_caller(request: Any) -> dict[str, str]:
    """A grouping function that names the caller by the key its request carries in
    ``X-Api-Key`` or ``Authorization`` (Bearer, Token, Basic's password)."""
    key = request.headers.get("X-Api-Key", "")
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            credentials = base64.b64decode(credentials).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            credentials = ""
    return {"api_key": key or credentials or "anonymous"}


# -- name spellings ---------------------------------------------------------------------

def _cased(draw: Any, name: str) -> str:
    from hypothesis import strategies as st

    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if flip else c for c, flip in zip(name, flips))


def _percent(draw: Any, text: str, plus: bool = True) -> str:
    """``text`` as a form or query name/value: some characters (or all) percent-encoded,
    lower- or upper-case hex, a space as "+" or "%20"."""
    from hypothesis import strategies as st

    out = []
    for char in text:
        how = draw(st.sampled_from(["as-is", "as-is", "upper", "lower"]))
        if char == " ":
            out.append("+" if plus and how != "upper" else "%20")
        elif how == "as-is" and (char.isalnum() or char in "-_.~"):
            out.append(char)
        else:
            escaped = quote(char, safe="")
            if escaped == char:
                escaped = "".join(f"%{b:02X}" for b in char.encode())
            out.append(escaped.lower() if how == "lower" else escaped)
    return "".join(out)


def _json_name(draw: Any, name: str) -> str:
    """``name`` as a JSON string literal: some characters ``\\u``-escaped (either hex case)."""
    from hypothesis import strategies as st

    out = []
    for char in name:
        how = draw(st.sampled_from(["as-is", "as-is", "u", "U"]))
        if how == "as-is":
            out.append(json.dumps(char)[1:-1])
        else:
            escaped = f"\\u{ord(char):04x}"
            out.append(escaped if how == "u" else escaped.upper().replace("\\U", "\\u"))
    return '"' + "".join(out) + '"'


def _space(draw: Any) -> str:
    from hypothesis import strategies as st

    return draw(st.sampled_from(["", "", " ", "\n  ", "\t"]))


# -- carriers: each returns (kind, text); kind is "json", "form" or "url" ---------------

def _leaf(draw: Any, secret: str, name: str) -> tuple[str, str, str]:
    """The innermost carrier: ``name`` = ``secret`` as a JSON object, a JSON Patch, a
    name/value pair list, a form or a URL's query. (kind, text, description)."""
    from hypothesis import strategies as st

    cased = _cased(draw, name)
    s = _space(draw)
    kind = draw(st.sampled_from(["object", "patch", "pairs", "form", "url"]))
    if kind == "object":
        return "json", (f'{{{s}"user"{s}:{s}"zoe",{s}{_json_name(draw, cased)}{s}:{s}'
                        f'{json.dumps(secret)}{s}}}'), f"object {cased!r}"
    if kind == "patch":
        op = draw(st.sampled_from(["add", "replace", "test"]))
        return "json", json.dumps([{"op": op, "path": "/" + cased, "value": secret}]), \
            f"patch {op} /{cased}"
    if kind == "pairs":
        return "json", json.dumps([{"name": "user", "value": "zoe"},
                                   {"name": cased, "value": secret}]), f"pairs {cased!r}"
    pairs = f"user=zoe&{_percent(draw, cased)}={quote_plus(secret)}"
    if kind == "form":
        return "form", pairs, f"form {cased!r}"
    return "url", "https://x.example/cb?" + pairs, f"url {cased!r}"


def _wrap(draw: Any, kind: str, text: str) -> tuple[str, str, str]:
    """One carrier around ``text`` (of ``kind``), under names no list hides."""
    from hypothesis import strategies as st

    s = _space(draw)
    choices = ["json-string", "json-array-string", "form", "url"]
    if kind == "json":
        choices += ["json-member", "json-array"]
    how = draw(st.sampled_from(choices))
    if how == "json-member":
        return "json", f'{{{s}"data"{s}:{s}{text}}}', "in member data"
    if how == "json-array":
        return "json", f"[{s}1,{s}{text}{s}]", "in array"
    if how == "json-string":
        return "json", json.dumps({"data": text}, ensure_ascii=draw(st.booleans())), \
            "in string data"
    if how == "json-array-string":
        return "json", json.dumps([text]), "in string in array"
    value = quote(text, safe="") if draw(st.booleans()) else quote_plus(text, safe="")
    if how == "form":
        return "form", "a=1&data=" + value, "in form data"
    return "url", "https://x.example/?data=" + value, "in url data"


_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
              "utf-32-le", "utf-32-be", "latin-1"]


def _encoded(draw: Any, text: str, content_type: str, how: list[str],
             json_body: bool = False) -> tuple[bytes, str]:
    """``text`` in a drawn encoding, said in the type's charset or not (JSON's own
    detection, RFC 8259 3 / RFC 4627, reads UTF-16/32 unannounced; other text is
    announced unless it is UTF-8 or latin-1 ASCII)."""
    from hypothesis import strategies as st

    codec = draw(st.sampled_from(_ENCODINGS))
    if codec == "latin-1" and not _latin1(text):
        codec = "utf-8"
    body = text.encode(codec)
    charset = {"utf-8-sig": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}.get(codec, codec)
    wide = codec.startswith(("utf-16", "utf-32"))
    say = draw(st.booleans()) or (wide and not json_body) or (
        codec == "utf-8-sig" and not json_body)
    how.append(f"{codec}{' charset=' + charset if say else ''}")
    return body, content_type + (f"; charset={charset}" if say else "")


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _body(draw: Any, kind: str, text: str, how: list[str]) -> tuple[bytes, dict[str, str], str]:
    """The top carrier: (body, headers, query) carrying ``text`` of ``kind``."""
    from hypothesis import strategies as st

    tops = ["multipart"]
    if kind == "json":
        tops += ["json-body", "json-body", "text-body"]
    if kind == "form":
        tops += ["form-body", "query"]
    top = draw(st.sampled_from(tops))
    how.append(top)
    if top == "json-body":
        ctype = draw(st.sampled_from(["application/json", "application/vnd.api+json"]))
        body, ctype = _encoded(draw, text, ctype, how, json_body=True)
        return body, {"Content-Type": ctype}, ""
    if top == "text-body":
        body, ctype = _encoded(draw, text, "text/plain", how)
        return body, {"Content-Type": ctype}, ""
    if top == "form-body":
        ctype = "application/x-www-form-urlencoded"
        if draw(st.booleans()):
            ctype += "; charset=" + draw(st.sampled_from(["utf-8", "latin-1", "UTF-8"]))
        return text.encode("ascii"), {"Content-Type": ctype}, ""
    if top == "query":
        return b"", {}, text
    return _multipart(draw, "data", text, kind, how)


_BOUNDARY = "leaks11Bd"


def _multipart(draw: Any, name: str, text: str, kind: str, how: list[str]
               ) -> tuple[bytes, dict[str, str], str]:
    from hypothesis import strategies as st

    # A file is looked into when it is JSON only (as an app reads an upload with
    # json.load); a URL or form in a file is data the app keeps, no field it reads.
    is_file = kind == "json" and draw(st.booleans())
    part_types = [None, "text/plain"]
    if kind == "json":
        part_types += ["application/json"]
    if kind == "form":
        part_types += ["application/x-www-form-urlencoded"]
    part_type = draw(st.sampled_from(part_types))
    if part_type is None:
        # No type: the part is read as UTF-8 (or the form's _charset_); ASCII or UTF-8.
        codec = draw(st.sampled_from(["utf-8", "utf-8-sig"])) if is_file else "utf-8"
        data, type_line = text.encode(codec), ""
        how.append(f"multipart {'file' if is_file else 'field'} untyped {codec}")
    else:
        data, ctype = _encoded(draw, text, part_type, how, json_body=part_type.endswith("json"))
        type_line = f"Content-Type: {ctype}\r\n"
        how.append(f"multipart {'file' if is_file else 'field'} {ctype}")
    disposition = f'form-data; name="{name}"' + ('; filename="d.txt"' if is_file else "")
    body = (f"--{_BOUNDARY}\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nzoe\r\n"
            f"--{_BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{type_line}\r\n"
            ).encode() + data + f"\r\n--{_BOUNDARY}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={_BOUNDARY}"}, ""


def planted_requests(secrets: Any = None, max_depth: int = 3) -> Any:
    """Strategy of :class:`Planted` requests (see the module docstring); log them with
    ``denylist=DENIED`` and ``grouping_function=api_key_caller``."""
    from hypothesis import strategies as st

    if secrets is None:
        secrets = st.from_regex(r"[A-Za-z][A-Za-z0-9]{11,15}", fullmatch=True).map(
            lambda s: "Zq" + s)

    @st.composite
    def build(draw: Any) -> Planted:
        secret = draw(secrets)
        name = draw(st.sampled_from(DENIED))
        how: list[str] = []
        flat = draw(st.sampled_from(["nested", "nested", "nested", "nested", "header",
                                     "cookie", "multipart-field", "api-key"]))
        if flat == "header":
            cased = _cased(draw, name)
            how.append(f"header {cased}")
            return Planted(secret, how, "GET", headers={cased: secret})
        if flat == "cookie":
            cased = _cased(draw, name)
            how.append(f"cookie {cased}")
            return Planted(secret, how, "GET", headers={
                "Cookie": f"a=1; {cased}={quote(secret)}; b=2"})
        if flat == "multipart-field":
            cased = _cased(draw, name)
            how.append(f"multipart field {cased}")
            body, headers, _ = _multipart(draw, cased, secret, "text", how)
            return Planted(secret, how, body=body, headers=headers)
        if flat == "api-key":
            scheme = draw(st.sampled_from(["X-Api-Key", "Bearer", "Token", "Basic",
                                           "x-api-key"]))
            how.append(f"api key {scheme}")
            if scheme.lower() == "x-api-key":
                headers = {scheme: secret}
            elif scheme == "Basic":
                headers = {"Authorization": "Basic " + base64.b64encode(
                    f"user:{secret}".encode()).decode()}
            else:
                headers = {"Authorization": f"{scheme} {secret}"}
            return Planted(secret, how, "GET", headers=headers, api_key=secret)
        kind, text, said = _leaf(draw, secret, name)
        how.append(said)
        for _ in range(draw(st.integers(0, max_depth - 1))):
            kind, text, said = _wrap(draw, kind, text)
            how.append(said)
        body, headers, query = _body(draw, kind, text, how)
        return Planted(secret, how, "POST" if body else "GET", query, headers, body)

    return build()


# -- the search -------------------------------------------------------------------------

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")


def _views(text: str, depth: int = 0) -> list[str]:
    """``text`` and what it reads as: JSON strings inside it (escapes decoded),
    percent-decoded ("+" as space or not), base64 decoded, UTF-16/32 read as bytes."""
    out = [text]
    for decoded in (unquote(text), unquote_plus(text)):
        if decoded != text:
            out.append(decoded)
    raw = text.encode("utf-8", "surrogatepass")
    out.append(raw.replace(b"\0", b"").decode("latin-1"))
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le"):
        out.append(text.encode(codec, "surrogatepass").replace(b"\0", b"").decode("latin-1"))
    for match in _BASE64.findall(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                out.append(decode(match + "=" * (-len(match) % 4)).replace(b"\0", b"")
                           .decode("latin-1"))
            except (binascii.Error, ValueError):
                pass
    if depth < 4:
        for candidate in {text, unquote(text), unquote_plus(text)}:
            stripped = candidate.strip().lstrip("\ufeff")
            if stripped[:1] in '{["':
                try:
                    document = json.loads(stripped)
                except ValueError:
                    continue
                for inner in _strings(document):
                    out += _views(inner, depth + 1)
    return out


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def spelled(batches: list[bytes], secret: str,
            keep: Callable[[str], bool] = lambda text: True) -> list[str]:
    """Each string of the posted ``batches`` (``keep`` says which) that spells
    ``secret`` in any case, in clear or in any view of :func:`_views`."""
    lowered = secret.lower()
    hits = [f"raw bytes of batch {i}" for i, b in enumerate(batches)
            if lowered.encode() in b.lower()]
    for batch in batches:
        for text in _strings(json.loads(batch)):
            if keep(text) and any(lowered in view.lower() for view in _views(text)):
                hits.append(text)
    return hits
