"""How many random binary bodies the lists hide whole (binary1): out of ``--count``
random bodies at each size, for image/png (a PNG signature, then random bytes),
application/octet-stream (random bytes) and application/pdf (``%PDF-1.7`` then random
bytes), request and response alike, with a denylist, with an allowlist and with no
list. Prints one JSON document: hidden whole per case, out of count.

``files`` (binary2): out of ``--files-count`` uploads at each of ``--file-sizes``, made
with the standard library (random bytes; a real PNG, its pixels random; a JPEG, its
scan random; a zip holding ``monkey.png`` and notes; a .docx and a .xlsx (hostile29:
their deflated entries are inflated); a .tar.gz of a ``docs/`` folder,
prose saying keyboard, monkey, authors, tokenizer, "the API key" and a PNG; a PDF with a
Flate stream), how many requests a denylist of each of password, token, secret, key,
auth and api_key hides whole (``--limit``: max_body_bytes, 4 MiB so that no layer is
cut: a layer reaching it is hidden whatever it holds).

.. code-block:: sh

    python benchmarks/binary_hidden.py                   # 100 bodies at 4, 64, 256 KiB
    python benchmarks/binary_hidden.py --count 20 --sizes 65536
    python benchmarks/binary_hidden.py --count 0 --files-count 40   # the files alone
"""

from __future__ import annotations

import argparse
import io
import json
import random
import struct
import tarfile
import zipfile
import zlib
from typing import Any, Callable, Optional

from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import inflation_budget
from readme_metrics.har.build import build_log
from readme_metrics.redaction import Redactor

_STARTS = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/octet-stream": b"",
    "application/pdf": b"%PDF-1.7\n",
}
_LISTS: dict[str, Optional[Redactor]] = {
    "denylist": Redactor(["password"]),
    "none": None,
    "allowlist": Redactor(allowlist=["id"]),
    # A name JSON may write with a short escape (``\/``): any backslash could hide it.
    "denylist escapable": Redactor(["password", "client/secret"]),
}


_NAMES = ("password", "token", "secret", "key", "auth", "api_key")
_WORDS = ("the", "a", "of", "and", "to", "request", "response", "upload", "monkey",
          "keyboard", "authors", "tokenizer", "secretary", "keys", "tokens", "author",
          "keynote", "passwordless", "API", "key", "token", "secret", "auth", "sent",
          "is", "with", "in", "your", "docs", "page", "server", "client", "header")


def _prose(draw: random.Random, size: int) -> bytes:
    """Markdown prose of about ``size`` bytes: sentences of the words above, in which
    the denied names stand as words too (``the API key is sent``), never a key's
    shape (no ``key:``, ``key=``, ``"key"``)."""
    out: list[str] = []
    length = 0
    while length < size:
        sentence = " ".join(draw.choice(_WORDS) for _ in range(draw.randint(5, 14)))
        line = sentence[0].upper() + sentence[1:] + (".\n\n" if draw.random() < .2 else ". ")
        out.append(line)
        length += len(line)
    return "".join(out).encode()[:size]


def _png(draw: random.Random, size: int) -> bytes:
    """A real PNG of random RGB pixels, about ``size`` bytes."""
    width = 64
    height = max(1, size // (width * 3 + 1))
    raw = b"".join(b"\0" + draw.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def _jpeg(draw: random.Random, size: int) -> bytes:
    """A JFIF file's markers (APP0, DQT, SOF0, DHT, SOS) around a random scan, its 0xFF
    bytes stuffed as a scan's are, about ``size`` bytes."""
    scan = draw.randbytes(max(0, size - 200)).replace(b"\xff", b"\xff\x00")
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"\xff\xdb\x00\x43\x00" + bytes(range(1, 65))
            + b"\xff\xc0\x00\x11\x08\x00\x40\x00\x40\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
            + b"\xff\xc4\x00\x1f\x00" + bytes(range(16)) + bytes(range(12))
            + b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00" + scan
            + b"\xff\xd9")


def _zip(draw: random.Random, size: int) -> bytes:
    """A zip (deflated) of monkey.png, notes/keyboard.md and data.bin."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("monkey.png", _png(draw, size * 6 // 10))
        archive.writestr("notes/keyboard.md", _prose(draw, size // 4))
        archive.writestr("data.bin", draw.randbytes(size // 4))
    return buffer.getvalue()


def _ooxml(parts: dict[str, bytes]) -> bytes:
    """An Office Open XML package (a zip, deflated, as Word and Excel write one)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="'
                         b'http://schemas.openxmlformats.org/package/2006/content-types">'
                         b'<Default Extension="xml" ContentType="application/xml"/></Types>')
        archive.writestr("_rels/.rels", b'<?xml version="1.0"?><Relationships><Relationship'
                         b' Id="rId1" Type="officeDocument" Target="main.xml"/></Relationships>')
        archive.writestr("docProps/core.xml", b'<cp:coreProperties xmlns:cp="x" xmlns:dc="y">'
                         b"<dc:creator>Zoe</dc:creator><cp:keywords>monkey keyboard"
                         b"</cp:keywords></cp:coreProperties>")
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _docx(draw: random.Random, size: int) -> bytes:
    """A .docx (hostile29): its document's paragraphs the prose above, a PNG in media."""
    paragraphs = b"".join(b'<w:p><w:r><w:rPr><w:b w:val="0"/></w:rPr><w:t xml:space="preserve">'
                          + line + b"</w:t></w:r></w:p>"
                          for line in _prose(draw, size // 2).split(b"\n") if line)
    return _ooxml({"word/document.xml": b'<?xml version="1.0"?><w:document xmlns:w="w">'
                   b"<w:body>" + paragraphs + b"</w:body></w:document>",
                   "word/media/image1.png": _png(draw, size // 2)})


def _xlsx(draw: random.Random, size: int) -> bytes:
    """A .xlsx (hostile29): a sheet of rows whose cells are shared strings (the prose's
    words) and numbers."""
    words = _prose(draw, size // 4).split()
    strings = b"".join(b"<si><t>" + word + b"</t></si>" for word in words)
    rows = b"".join(b'<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d"><v>%d</v></c></row>'
                    % (n + 1, n + 1, n, n + 1, draw.randrange(10 ** 6))
                    for n in range(len(words)))
    return _ooxml({"xl/workbook.xml": b'<workbook><sheets><sheet name="Keys" sheetId="1"'
                   b' r:id="rId1"/></sheets></workbook>',
                   "xl/sharedStrings.xml": b'<sst count="%d">' % len(words) + strings + b"</sst>",
                   "xl/worksheets/sheet1.xml": b"<worksheet><sheetData>" + rows
                   + b"</sheetData></worksheet>"})


def _tar_gz(draw: random.Random, size: int) -> bytes:
    """A .tar.gz of docs/: index.md and authors.md (prose), img/monkey.png."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (("docs/index.md", _prose(draw, size // 2)),
                           ("docs/authors.md", _prose(draw, size // 8)),
                           ("docs/img/monkey.png", _png(draw, size * 7 // 10))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1795257103
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _pdf(draw: random.Random, size: int) -> bytes:
    """A PDF: a catalog, an info dictionary (/Author, /Keywords) and a Flate stream."""
    stream = zlib.compress(draw.randbytes(max(0, size - 400)), 6)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>",
               b"<< /Author (Zoe) /Keywords (monkey keyboard) /Producer (binary2) >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
               + b"\nendstream"]
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + (b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                  % (len(objects) + 1, xref))


_FILES: dict[str, tuple[str, Callable[[random.Random, int], bytes]]] = {
    "random": ("application/octet-stream", lambda draw, size: draw.randbytes(size)),
    "png": ("image/png", _png),
    "jpeg": ("image/jpeg", _jpeg),
    "zip": ("application/zip", _zip),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             _docx),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _xlsx),
    "tar.gz": ("application/gzip", _tar_gz),
    "pdf": ("application/pdf", _pdf),
}


def _files(count: int, sizes: list[int], seed: int, limit: int) -> dict[str, Any]:
    """Requests hidden whole per file kind, size and denied name, out of ``count``."""
    out: dict[str, str] = {}
    lists = {name: Redactor([name]) for name in _NAMES}
    for size in sizes:
        for kind, (mime, make) in _FILES.items():
            draw = random.Random(f"{seed}-{size}-{kind}")
            bodies = [make(draw, size) for _ in range(count)]
            counts = {name: sum(_hidden(body, mime, redactor, limit, both=False)[0]
                                for body in bodies) for name, redactor in lists.items()}
            out[f"{size} {kind}"] = " ".join(f"{name} {n}" for name, n in counts.items())
    return out


def _hidden(body: bytes, kind: str, redactor: Optional[Redactor], limit: int = 1 << 20,
            both: bool = True) -> tuple[bool, bool]:
    """(request hidden whole, response hidden whole) for ``body`` sent both ways."""
    headers = [("Host", "api.example.com"), ("Content-Type", kind),
               ("Content-Length", str(len(body)))]
    exchange = Exchange(
        id="0b5c6f5e-4a7e-4c1e-9a43-2f4e8f6b9d21", started=1795257103.0, method="POST",
        url="http://api.example.com/up", http_version="HTTP/1.1", request_headers=headers,
        client_ip="127.0.0.1", group=Group("", None, None), status=200, status_text="OK",
        response_headers=[("Content-Type", kind)], response_body=body if both else b"",
        response_body_size=len(body) if both else 0, request_body=body, request_body_size=len(body),
        wait=0.0, duration=0.0)
    entry = build_log(exchange, redactor=redactor, max_body_bytes=limit)[
        "request"]["log"]["entries"][0]
    post: dict[str, Any] = entry["request"]["postData"]
    content: dict[str, Any] = entry["response"]["content"]
    return (post.get("comment") != "base64", content.get("encoding") != "base64")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--sizes", default="4096,65536,262144")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--files-count", type=int, default=40)
    parser.add_argument("--file-sizes", default="4096,65536,262144,1048576")
    parser.add_argument("--limit", type=int, default=4 << 20)
    args = parser.parse_args()
    # What the readings hide, not what the process's budget refuses over time (hostile31:
    # thousands of zips a second here would spend it).
    inflation_budget.BUDGET = inflation_budget.Bucket(1e18, 1e18)
    out: dict[str, Any] = {}
    for size in map(int, args.sizes.split(",")) if args.count else ():
        for kind, start in _STARTS.items():
            draw = random.Random(f"{args.seed}-{size}-{kind}")
            bodies = [start + draw.randbytes(size - len(start)) for _ in range(args.count)]
            for name, redactor in _LISTS.items():
                requests = responses = 0
                for body in bodies:
                    request, response = _hidden(body, kind, redactor)
                    requests += request
                    responses += response
                out[f"{size} {kind} {name}"] = {"request": requests, "response": responses}
    files = _files(args.files_count, [int(size) for size in args.file_sizes.split(",")],
                   args.seed, args.limit) if args.files_count else {}
    print(json.dumps({"count": args.count, "hidden_whole": out,
                      "files_count": args.files_count, "files_hidden_whole": files},
                     indent=1))


if __name__ == "__main__":
    main()
