"""Time the delivery worker's per-log build (``build_log``) on hostile request bodies
whose size doubles, to find superlinear paths: a case is flagged when one doubling costs
more than ``--growth`` times as long (2.2) or a MiB more than ``--per-mib`` ms (50).

.. code-block:: sh

    python benchmarks/hostile_doubling.py                    # 64 KiB .. 4 MiB, all cases
    python benchmarks/hostile_doubling.py --only patch,nested --max-kib 1024

The cases are the client-controlled inputs hostile10 tried against the paths added in the
session of 2026-12-03 (JSON Patch / SCIM pointers, byte order marks in names, UTF-16/32
detection, JSON documents in JSON strings, multipart parts), and hostile11's (binary data
sent with a form's type, a short numeric key in strings); their figures are in
docs/PERFORMANCE.md. Times are the process's CPU time, best of ``--repeat``; a body is
built once per size and ``max_body_bytes`` is raised above it, so that all of it is read.
A machine shared with other work shows steps and noise: re-run a flagged case alone
before trusting it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from base64 import b64encode
from pathlib import Path
from typing import Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readme_metrics.exchange import Exchange, Group  # noqa: E402
from readme_metrics.har import build_log, inflation_budget  # noqa: E402
from readme_metrics.har.redaction import Redactor  # noqa: E402

Make = Callable[[int], bytes]

DENY = Redactor(denylist=["password"])
ALLOW = Redactor(allowlist=["id"])


def _repeated(unit: bytes, head: bytes = b"[", tail: bytes = b"]") -> Make:
    """A body of about ``n`` bytes: ``unit`` repeated, comma-separated, in head and tail."""
    return lambda n: head + b",".join([unit] * max(1, n // (len(unit) + 1))) + tail


def _runs(head: bytes, unit: bytes, tail: bytes = b"") -> Make:
    """A body of about ``n`` bytes: ``head``, ``unit`` repeated, ``tail``."""
    return lambda n: head + unit * (n // len(unit)) + tail


def _zip_of_env(n: int) -> bytes:
    """A zip of about ``n`` bytes of deflated entries, each a small .env naming no
    denied key (all of them inflated and read) but the last."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(max(1, n // 120)):
            archive.writestr(f"e{index}.env", f"USER=u{index}\nHOST=h{index}\n")
        archive.writestr("z.env", "PASSWORD=s\n")
    return buffer.getvalue()


def _zip_of_gzips(n: int) -> bytes:
    """A zip of about ``n`` bytes of stored entries, each a small .env gzipped (all of
    them gunzipped and read, hostile31), the last naming a denied key."""
    import gzip
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index in range(max(1, n // 120)):
            archive.writestr(f"e{index}.env.gz", gzip.compress(b"USER=u%d\n" % index, mtime=0))
        archive.writestr("z.env.gz", gzip.compress(b"PASSWORD=s\n", mtime=0))
    return buffer.getvalue()


def _zip_streamed(n: int) -> bytes:
    """Local headers with a data descriptor (no size: fed in pieces), one empty deflate
    stream each, about ``n`` bytes."""
    unit = b"PK\3\4\x14\x00\x08\x00\x08\x00" + bytes(16) + b"\x01\x00\x00\x00a\x03\x00"
    return unit * (n // len(unit))


def _patch(path: bytes) -> bytes:
    return b'[{"op":"add","path":"' + path + b'","value":{"x":1}},"password"]'


_PART = b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
_WIDE_PART = b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n\xff\xfe{\x00}\x00\r\n'
_FILE_PART = b'--XyZ\r\nContent-Disposition: form-data; name="a"; filename="a"\r\n\r\n[1]\r\n'
_MULTIPART = "multipart/form-data; boundary=XyZ"
_B64_PART = (b'--XyZ\r\nContent-Disposition: form-data; name="a"; filename="a"\r\n'
             b"Content-Transfer-Encoding: base64\r\n\r\n" + b64encode(b"PASSWORD=s\n")
             + b"\r\n")
_B64_UNPADDED = (b'--XyZ\r\nContent-Disposition: form-data; name="a"; filename="a"\r\n'
                 b"Content-Transfer-Encoding: Base64\r\n\r\n"
                 + b64encode(b"PASSWORD=s\n#").rstrip(b"=") + b"\r\n")
_DOTENV_PART = (b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a.env"\r\n'
                b"Content-Type: text/plain\r\n\r\nUSER=zoe\nPASSWORD=s\n\r\n")
_LONG_KEY = "rdme_xn0123456789abcdef0123456789abcdef"

#: group -> name -> (Content-Type, body of about n bytes, redactor)
CASES: dict[str, dict[str, tuple[str, Make, Redactor]]] = {
    "patch": {
        "ops (deny)": ("application/json-patch+json",
                       _repeated(b'{"op":"replace","path":"/a/password","value":1}'), DENY),
        "ops (allow)": ("application/json-patch+json",
                        _repeated(b'{"op":"replace","path":"/a/password","value":1}'), ALLOW),
        "pointer /a/a/...": ("application/json", lambda n: _patch(b"/a" * (n // 2)), DENY),
        "pointer /~1~0...": ("application/json", lambda n: _patch(b"/~1~0" * (n // 5)), DENY),
        "pointer #/%41/...": ("application/json", lambda n: _patch(b"#" + b"/%41" * (n // 4)),
                              DENY),
        "scim [[[...": ("application/json", lambda n: _patch(b"[" * n), DENY),
        "scim a.a.a...": ("application/json", lambda n: _patch(b"a." * (n // 2)), DENY),
        "scim a:a:a...": ("application/json", lambda n: _patch(b"a:" * (n // 2)), DENY),
        "#/ and %%%... (unquote)": ("application/json",
                                    lambda n: b'{"a":"#/' + b"%" * n + b'"}', DENY),
    },
    "bom": {
        "keys \\ufeffpassword": ("application/json",
                                 _repeated(b'"\xef\xbb\xbfpassword":1', b"{", b"}"), DENY),
        "one key of marks": ("application/json",
                             lambda n: b'{"' + b"\xef\xbb\xbf" * (n // 3) + b'password":1}',
                             DENY),
        "form name of marks": ("application/x-www-form-urlencoded",
                               lambda n: b"%EF%BB%BF" * (n // 9) + b"password=1", DENY),
        "octet-stream JSON after a mark": (
            "application/octet-stream",
            lambda n: b"\xef\xbb\xbf" + _repeated(b'{"password":1}')(n), DENY),
    },
    "wide": {
        "UTF-16 JSON": ("application/json", lambda n: (
            "\ufeff" + _repeated(b'{"password":1}')(n // 2).decode()).encode("utf-16-le"),
            DENY),
        "UTF-16-BE form, no charset": ("application/x-www-form-urlencoded", lambda n: (
            "password=1&" * (n // 22)).encode("utf-16-be"), DENY),
        "UTF-16 form, lone surrogates": (
            "application/x-www-form-urlencoded; charset=utf-16",
            lambda n: ("a=\ud800&" * (n // 8)).encode("utf-16-be", "surrogatepass"), DENY),
        "text, NUL pattern": ("text/plain", lambda n: b"\x00a" * (n // 2), DENY),
    },
    "nested": {
        "strings holding documents": ("application/json", _repeated(
            json.dumps(json.dumps({"password": 1})).encode()), DENY),
        "strings of strings of documents": ("application/json", _repeated(
            json.dumps(json.dumps([json.dumps({"password": 1})])).encode()), DENY),
        "a string holding a document": ("application/json", lambda n: json.dumps(
            json.dumps([{"password": 1}] * (n // 20))).encode(), DENY),
        "a string holding [[[...\\u0041]]]": ("application/json", lambda n: json.dumps(
            "[" * (n // 2) + "\\u0041" + "]" * (n // 2)).encode(), DENY),
    },
    "form": {
        "binary data, a form's type (curl)": (
            "application/x-www-form-urlencoded",
            lambda n: b"a" + random.Random(n).randbytes(n - 1), DENY),
        # Runs of escapes that spell UTF-8 (decode_component's, hostile12).
        "escaped characters, a=%C3%A9...": (
            "application/x-www-form-urlencoded", lambda n: b"a=" + b"%C3%A9a" * (n // 7), DENY),
        "denied pairs password=1&...": (
            "application/x-www-form-urlencoded", lambda n: b"password=1&" * (n // 11), DENY),
        # A document after text, its members read from their names (forms23's
        # cut_members): empty members, and denied ones each cut by a "&".
        'x{"password":"s&","":"":"":...': (
            "application/x-www-form-urlencoded",
            lambda n: b'x{"password":"s&' + b'"":' * (n // 3), DENY),
        'x{"password":"a&b"},{"password"...': (
            "application/x-www-form-urlencoded",
            lambda n: b"x" + b'{"password":"a&b"},' * (n // 19), DENY),
        # Names holding a quote, each asked about (hostile23: no bracket needed).
        '"password":"s"&"a":1&...': (
            "application/x-www-form-urlencoded",
            lambda n: b'"password":"s"&' + b'"a":1&' * (n // 6), DENY),
        'x{"password":"\\"\\"...&"}': (
            "application/x-www-form-urlencoded",
            lambda n: b'x{"password":"' + b'\\"' * (n // 2) + b'&"}', DENY),
        # A document escaped in a string of one (review105's escaped readings): empty
        # members, escaped quotes, and the same percent-encoded.
        'x{"a":"{\\"password\\":\\"s&\\"\\":...': (
            "application/x-www-form-urlencoded",
            lambda n: b'x{"a":"{\\"password\\":\\"s&' + b'\\"\\":' * (n // 5), DENY),
        'x{"a":"{\\"password\\":\\"\\\\\\"...&': (
            "application/x-www-form-urlencoded",
            lambda n: b'x{"a":"{\\"password\\":\\"' + b'\\\\\\"' * (n // 4) + b"&", DENY),
        'x{"a":"{\\"password\\":\\"a&b\\"},{...': (
            "application/x-www-form-urlencoded",
            lambda n: b'x{"a":"' + b'{\\"password\\":\\"a&b\\"},' * (n // 23), DENY),
        "x%7B%5C%22password%5C%22%3A%5C%22s&%5C%22%5C%22%3A...": (
            "application/x-www-form-urlencoded",
            lambda n: b"x%7B%5C%22password%5C%22%3A%5C%22s&" + b"%5C%22%5C%22%3A" * (n // 15),
            DENY),
    },
    "key": {
        # The caller's key "1" (X-Api-Key: 1, see KEYS) in strings that are no JSON.
        "strings \"1 1\" (key 1)": ("application/json", lambda n: json.dumps(
            ["1 1"] * (n // 6)).encode(), DENY),
        "distinct strings \"1 i\" (key 1)": ("application/json", lambda n: json.dumps(
            [f"1 {i}" for i in range(n // 10)]).encode(), DENY),
        # A long key's base64 repeated, one character past a group of four (redos1).
        "base64 of the key, cut (long key)": ("text/plain", lambda n: b64encode(
            _LONG_KEY.encode() * (n // 52)) + b"A", DENY),
        # The same, a character after each copy: at each place in a group of four in
        # turn, each place decoded again (secrets21).
        "base64 of the key, glued (long key)": ("text/plain", lambda n: (b64encode(
            _LONG_KEY.encode()) + b"A") * (n // 212 * 4), DENY),
    },
    "multipart": {
        "tiny parts": (_MULTIPART, lambda n: _PART * (n // len(_PART)) + b"--XyZ--\r\n", DENY),
        "UTF-16 parts": (_MULTIPART,
                         lambda n: _WIDE_PART * (n // len(_WIDE_PART)) + b"--XyZ--\r\n", DENY),
        "file parts of JSON": (_MULTIPART,
                               lambda n: _FILE_PART * (n // len(_FILE_PART)) + b"--XyZ--\r\n",
                               DENY),
        "one header of parameters": (_MULTIPART, lambda n: (
            b'--XyZ\r\nContent-Disposition: form-data; name="a"' + b"; x=y" * (n // 5)
            + b"\r\n\r\n1\r\n--XyZ--\r\n"), DENY),
    },
    # XML and text/plain bodies by the denylist (redact14's readers; review67).
    "xml": {
        "a tag's run of name characters": (
            "application/xml", lambda n: b'<x a="1" password="s" ' + b"a" * n + b"/>", DENY),
        "a tag's run of a:a:a...": (
            "application/xml", lambda n: b'<x a="1" password="s" ' + b"a:" * (n // 2) + b"/>",
            DENY),
        "elements of distinct prefixes": ("application/xml", lambda n: b"<password/>" + b"".join(
            b"<p%d:password>x</p%d:password>" % (i, i) for i in range(n // 32)), DENY),
        "start tags never ended <a <a...": (
            "application/xml", lambda n: b"<password/>" + b"<a " * (n // 3), DENY),
        "close tags never ended </password</...": (
            "application/xml", lambda n: b"<password>" + b"</password" * (n // 10), DENY),
        "one tag of pairs key=\"password\" value=\"s\"": ("application/xml", lambda n: (
            b"<x" + b' key="password" value="s"' * (n // 25) + b"/>"), DENY),
        "quoted values a=\"...\"": (
            "application/xml", lambda n: b"<x password='s'" + b' a="b"' * (n // 6) + b">", DENY),
    },
    "plain": {
        "lines of pairs": ("text/plain", lambda n: b"password=1\n" + b"a=b&c=d\n" * (n // 8),
                           DENY),
        "one line of pairs": ("text/plain", lambda n: b"password=1\n" + b"a=b&" * (n // 4),
                              DENY),
        # Lines read as a form's because they hold a quote (hostile23).
        'x{"password":"a&b"},... (one line)': ("text/plain", lambda n: b"x" + (
            b'{"password":"a&b"},' * (n // 19)), DENY),
        'note "password": "s" lines': ("text/plain",
                                       lambda n: b'note "password": "s"\n' * (n // 21), DENY),
        "prose with =": ("text/plain",
                         lambda n: b"the password is 1+1=2 and a%20b\n" * (n // 33), DENY),
        # Python's str(dict), names in single quotes (hostile24).
        "x{'password': 'a&b'},... (one line)": (
            "text/plain", _runs(b"x", b"{'password': 'a&b'},"), DENY),
        "prose with apostrophes": (
            "text/plain", _runs(b"", b"it's the user's password: don't 'x': y\n"), DENY),
    },
    # JSON members, CSV columns, HTML inputs in other text bodies (hostile24).
    "text": {name: (mime, _runs(head, unit, tail), DENY) for name, mime, head, unit, tail in [
        ("xml of json members", "application/xml", b"<a>", b'{"password": "s", "b": 1}',
         b"</a>"),
        ("html inputs", "text/html", b"<form>", b'<input name="password" value="s">', b""),
        ("html of apostrophes 'a': ...", "text/html", b"<p>password ", b"'a': 'b' ", b""),
        ("csv, a denied column", "text/csv", b"id,password,n\r\n", b"1,secret,2\r\n", b""),
        ("csv, quoted fields", "text/csv", b"id,password\r\n", b'"a,""b",",c"\r\n', b""),
        ("csv, one quote never closed", "text/csv", b'id,password\r\n1,"', b"a,", b""),
        ("markdown of escaped quotes", "text/markdown", b"password ", b'\\"a\\": ', b""),
    ]},
    # JSON strings holding text before a document (hostile25).
    "strings": {name: (mime, _runs(head, unit, tail), DENY) for name, mime, head, unit, tail in [
        ('strings x{\\"password\\": \\"s\\"}', "application/json", b"[",
         b'"x{\\"password\\": \\"s\\"}",', b'"e"]'),
        ("one string of members", "application/json", b'{"log": "x',
         b'{\\"password\\": \\"s\\"},', b'"}'),
        ("strings of apostrophes", "application/json", b'{"password": 1, "a": [',
         b"\"it's 'a': 'b'\",", b'""]}'),
        ("one string of escaped quotes", "application/json", b'"password ',
         b'\\\\\\"a\\\\\\": ', b'"'),
        ("one string x{'password': 'a'},...", "application/json", b'"x',
         b"{'password': 'a'},", b'"'),
    ]},
    # Escaped repr values, links, YAML, file parts that are no JSON (hostile26).
    "hostile26": {
        **{name: (mime, _runs(head, unit, tail), DENY) for name, mime, head, unit, tail in [
            ("html of {'password': \\\"s\\\"}", "text/html", b"<p>",
             b"{'password': \\\"a&b\\\"} ", b""),
            ("script of '{\\'password\\': \\'s\\'}'", "application/javascript", b"",
             b"'{\\'password\\': \\'s\\'}';", b""),
            ("html links ?password=s", "text/html", b"",
             b'<a href="/r?a=1&amp;password=s">', b""),
            ("html of one run of ?", "text/html", b"password ", b"?", b"="),
            ("percent-encoded json as text/plain", "text/plain", b"",
             b"%7B%22password%22%3A%22s%22%7D", b""),
            ("yaml of denied keys", "application/yaml", b"", b"password: s\n", b""),
            ("yaml block scalar", "application/yaml", b"password: |\n", b"  line\n", b""),
            ("yaml flow lines", "application/yaml", b"", b"- {a: 1, password: s}\n", b""),
            ("yaml flow lines naming none", "application/yaml", b"password: 1\n",
             b"- {a: 1, b: [c]}\n", b""),
            # (Collections that never close: each was read to the text's end, lead.)
            ("yaml flow lines never closed", "application/yaml", b"password: 1\n",
             b"- {\n", b""),
            ("yaml flow strings never closed", "application/yaml", b"password: 1\n",
             b"a: {b: 'x\n", b""),
        ]},
        ".env file parts": (_MULTIPART, lambda n: _DOTENV_PART * (n // len(_DOTENV_PART))
                            + b"--XyZ--\r\n", DENY),
        # One line of sequence items, properties, aliases of anchored values (review113).
        "yaml, one line of '-  '": ("application/yaml", lambda n: b"-  " * (n // 3)
                                    + b"password: s", DENY),
        "yaml, one line of '&a '": ("application/yaml", lambda n: b"&a " * (n // 3)
                                    + b"password: s", DENY),
        "yaml, anchors and aliases": ("application/yaml", lambda n: b"".join(
            b"a%d: &a%d s\npassword: *a%d\n" % (i, i, i) for i in range(n // 30)), DENY),
        # (Each line a flow collection's start, deeper than the one before: read once.)
        "yaml, each line deeper: {a: '...": ("application/yaml", lambda n: b"a: 1\n" + b"".join(
            b" " * i + b"{a: '\n" for i in range(int((n * 2) ** 0.5))) + b"password", DENY),
    },
    # Escapes read (redaction_escapes), links in text/plain scripts, YAML breaks (hostile27).
    "hostile27": {
        **{name: (mime, _runs(head, unit, tail), DENY) for name, mime, head, unit, tail in [
            ("html of pass&#119;ord links", "text/html", b"",
             b'<a href="/r&#63;pass&#119;ord=s">', b""),
            ("html of &quot; members", "text/html", b"<div data-x=\"",
             b"{&quot;pass&#x77;ord&quot;: &quot;s&quot;}", b'">'),
            ("script of \\x70assword", "application/javascript", b"",
             b"a = {'\\x70assword': 's', '\\u{70}': 1};", b""),
            ("html of one run of &#", "text/html", b"password ", b"&#", b"="),
            ("text/plain fetch lines", "text/plain", b"",
             b"fetch('/api?password=s&x=1')\n", b""),
            ("yaml of NEL lines", "application/yaml", b"", b"a: 1\xc2\x85password: s\xc2\x85", b""),
            ("yaml of ? keys", "application/yaml", b"", b"? password\n: s\n", b""),
            ("yaml of ? lines", "application/yaml", b"password: 1\n", b"? \n", b""),
        ]},
        "base64 file parts": (_MULTIPART, lambda n: _B64_PART * (n // len(_B64_PART))
                              + b"--XyZ--\r\n", DENY),
    },
    # Keys followed by a blank or an element: plist, .netrc, .properties (hostile28).
    "hostile28": {
        name: (mime, _runs(head, unit, tail), DENY) for name, mime, head, unit, tail in [
            ("plist of denied keys", "application/xml", b"<plist><dict>",
             b"<key>password</key><string>s</string>", b"</dict></plist>"),
            ("plist of unclosed <key>s", "text/plain", b"<plist>", b"<key>password", b""),
            ("netrc lines", "text/plain", b"", b"machine a login b password s\n", b""),
            ("properties, blank separators", "text/plain", b"", b"password s\n", b""),
            ("properties continued", "text/x-java-properties", b"", b"password a\\\n", b""),
        ]},
    # Complex YAML keys, pickle 0 as text, bplists, deflated zip entries (hostile29).
    "hostile29": {
        **{name: (mime, _runs(head, unit, tail), DENY) for name, mime, head, unit, tail in [
            ("yaml of ? [a, password] keys", "application/yaml", b"",
             b"? [a, password]\n: s\n", b""),
            ("yaml, one ? key over all lines", "application/yaml", b"? [a,\n", b"  b,\n",
             b"  password]\n: s\n"),
            ("yaml of ? lines, none named", "application/yaml", b"password: 1\n",
             b"? [a, b]\n", b""),
            ("pickle 0 of denied strings", "application/octet-stream", b"(dp0\n",
             b"Vpassword\np1\nVs\np2\ns", b"."),
            ("pickle 0 cut short", "application/octet-stream", b"(lp0\n", b"Vpassword\n", b""),
            ("text of &#34; joins", "text/plain", b"",
             b"password=1 &#34;password=2&pass&#119;ord=s\n", b""),
            ("bplist of denied strings", "application/octet-stream", b"bplist00\xd1",
             b"Xpassword\x00", b""),
        ]},
        "zip of deflated .env entries": ("application/zip", _zip_of_env, DENY),
        "zip of streamed tiny entries": ("application/zip", _zip_streamed, DENY),
        "zip of gzipped .env entries": ("application/zip", _zip_of_gzips, DENY),
    },
    # The same readers broken (review117): escapes found one by one, base64 parts read.
    "review117": {
        **{name: (mime, _runs(head, unit, tail), DENY) for name, mime, head, unit, tail in [
            ("netrc quoted token of escapes", "text/plain", b'machine a password "',
             b'\\"', b""),
            ("properties key of escapes", "text/x-java-properties", b"pass", b"\\ ",
             b"=x"),
            ("properties lines ended by CR", "text/x-java-properties", b"",
             b"password s\r", b""),
        ]},
        "plist, key denied": ("application/xml", _runs(
            b"<plist><dict>", b"<key>key</key><string>s</string>", b"</dict></plist>"),
            Redactor(denylist=["password", "key"])),
        "Base64 file parts, unpadded": (_MULTIPART, lambda n: _B64_UNPADDED * (
            n // len(_B64_UNPADDED)) + b"--XyZ--\r\n", DENY),
    },
    # Memory (hostile32): one object a quote, a line or an escape kept before.
    "hostile32": {name: (mime, _runs(head, unit, tail), DENY) for name, mime, head, unit, tail in [
        ("YAML run of ''", "application/yaml", b"password: 1\na: {'", b"''", b"': 1}\n"),
        ("event of data: lines", "text/event-stream", b"", b"data:\n",
         b'data: {"password": 1}\n\n'),
        ("event of a document's lines", "text/event-stream", b"", b'data: {"a": 1,\n',
         b'data: "password": 2}\n\n'),
        ("escapes in a string 130 deep", "application/json", b"[" * 130 + b'"', b'\\"',
         b'"' + b"]" * 130 + b" password"),
        ("short escaped strings 130 deep", "application/json", b"[" * 130,
         b'"a\\"b",', b'"x"' + b"]" * 130 + b" password"),
    ]},
}



#: The caller's key of the cases that need one (the grouping function's id), by name.
KEYS = {name: _LONG_KEY if "long key" in name else "1" for name in CASES["key"]}


def _exchange(content_type: str, body: bytes, key: str = "rdme_key_1234") -> Exchange:
    return Exchange(
        id="hostile", started=0.0, method="POST", url="http://api.example.com/v1",
        http_version="HTTP/1.1",
        request_headers=[("Host", "api.example.com"), ("Content-Type", content_type),
                         ("Content-Length", str(len(body)))],
        client_ip="10.0.0.1", group=Group(key, None, None),
        request_body=body, request_body_size=len(body), status=200, status_text="OK")


def _best(exchange: Exchange, redactor: Redactor, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        build_log(exchange, redactor=redactor, max_body_bytes=len(exchange.request_body) + 1)
        times.append(time.process_time() - start)
    return min(times)


def run(groups: list[str], max_kib: int, repeat: int, growth: float, per_mib: float,
        limit: float) -> int:
    """Print one line a case; return how many were flagged."""
    flagged = 0
    for group in groups:
        for name, (content_type, make, redactor) in CASES[group].items():
            cells: list[str] = []
            growths: list[str] = []
            worst = 0.0  # ms per MiB, from 256 KiB on
            previous: Optional[float] = None
            kib = 64
            while kib <= max_kib:
                body = make(kib * 1024)
                took = _best(_exchange(content_type, body, KEYS.get(name, "rdme_key_1234")),
                             redactor, repeat)
                cell = f"{kib}K {took * 1000:.0f}ms"
                if previous is not None and previous >= 0.002:
                    cell += f" x{took / previous:.1f}"
                    if took / previous > growth:
                        growths.append(f"x{took / previous:.1f} at {kib}K")
                if kib >= 256:
                    worst = max(worst, took * 1000 * (1 << 20) / len(body))
                cells.append(cell)
                previous = took
                if took > limit:
                    break
                kib *= 2
            flags = growths + ([f"{worst:.0f} ms/MiB"] if worst > per_mib else [])
            flagged += bool(flags)
            note = f"  <- {', '.join(flags)}" if flags else ""
            print(f"{group:9} {name:34} {' | '.join(cells)}{note}", flush=True)
    return flagged


def main(argv: Optional[list[str]] = None) -> None:
    # The cost of one body, not what the process's zip budget refuses over time
    # (hostile31: bodies checked back to back spend it, then cost nothing).
    inflation_budget.BUDGET = inflation_budget.Bucket(1e18, 1e18)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(CASES),
                        help=f"comma-separated groups of cases ({', '.join(CASES)})")
    parser.add_argument("--max-kib", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--growth", type=float, default=2.2)
    parser.add_argument("--per-mib", type=float, default=50.0)
    parser.add_argument("--limit", type=float, default=3.0,
                        help="stop doubling a case once one size takes this many seconds")
    args = parser.parse_args(argv)
    groups = [group for group in args.only.split(",") if group]
    unknown = set(groups) - set(CASES)
    if unknown:
        parser.error(f"unknown groups: {', '.join(sorted(unknown))}")
    flagged = run(groups, args.max_kib, args.repeat, args.growth, args.per_mib, args.limit)
    print(f"{flagged} case(s) flagged")


if __name__ == "__main__":
    main()
