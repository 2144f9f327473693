"""The escapes a base64 run may be written with, read (:func:`unescaped`): JSON's
(``\\/``, ``\\u002B``, escaped line breaks), HTML's character references (``&#43;``,
``&#x2F;``, ``&plus;``), percent-encoding. For :mod:`.base64_starts` and
:mod:`.base64_runs`, which read an archive's base64 however a text wrote it. (Moved out
of ``base64_starts``: house56.)
"""

from __future__ import annotations

import binascii

from readme_metrics._lazy_re import lazy_compile

__all__ = ["unescaped"]


#: The JSON escapes a run holds (.NET's and Gson's defaults), what each stands for.
_JSON_ESCAPES = tuple((f"\\u00{code}", chr(int(code, 16))) for code in (
    "2B", "2b", "2F", "2f", "3D", "3d"))


#: HTML's character references a run holds (mustache.js writes ``/`` and ``=`` so, Go's
#: html/template ``+``, ESAPI all three; review130; HTML5's names, hostile44), what each
#: stands for.
_REFERENCES = tuple((reference, character) for character, references in (
    ("+", ("&#43;", "&#x2B;", "&#x2b;", "&#X2B;", "&#X2b;", "&plus;")),
    ("/", ("&#47;", "&#x2F;", "&#x2f;", "&#X2F;", "&#X2f;", "&sol;")),
    ("=", ("&#61;", "&#x3D;", "&#x3d;", "&#X3D;", "&#X3d;", "&equals;")))
    for reference in references)
#: A numeric reference's leading zeros (``&#0043;``, ``&#x002F;``: any count, as XML and
#: HTML read them; hostile44), dropped before :data:`_REFERENCES` are read.
_PADDED_REFERENCE = lazy_compile(r"&#([xX]?)0+(?=[1-9A-Fa-f][0-9A-Fa-f]?;)")


def unescaped(run: str) -> str:
    """``run`` with the escapes a run holds read: JSON's ``\\/``, ``\\u002B`` ... and
    escaped line breaks (a JSON file's string as written inside an archive), HTML's
    ``&#43;``, ``&#x2F;``, ``&#0043;``, ``&plus;`` ..., percent-encoding (each at C's
    speed: ``unquote`` took 0.6 s a MiB of them)."""
    if "\\" in run:
        run = run.replace("\\/", "/").replace("\\r", "").replace("\\n", "")
        if "\\\n" in run or "\\\r" in run:  # (a YAML double-quoted scalar's
            # escaped break, LF or CRLF; review133)
            run = run.replace("\\\r\n", "").replace("\\\n", "")
        if "\\u00" in run:
            for escape, character in _JSON_ESCAPES:
                run = run.replace(escape, character)
    if "&" in run:
        if "&#0" in run or "&#x0" in run or "&#X0" in run:
            run = _PADDED_REFERENCE.sub(r"&#\1", run)
        for reference, character in _REFERENCES:
            run = run.replace(reference, character)
    if "%" in run:
        # (quoted-printable's decoder reads "=XX": each "=" written so first.)
        run = binascii.a2b_qp(run.replace("=", "=3D").replace("%", "=").encode(
            "latin-1", "replace")).decode("latin-1")
    return run
