"""hostile11's findings: the log worker's CPU on hostile request bodies, the linear but
costly paths hostile9 and hostile10 left (docs/PERFORMANCE.md, "Hostile bodies against
the worker's per-log build"). Work is measured by counting (Python calls a KiB), with
bounds that linear code of the former cost fails and the new passes many times over;
what is logged is checked against the former code's reading (written out here where
the code changed) on generated inputs."""

from __future__ import annotations

import json
import random
import re
from urllib.parse import unquote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import build_log
from readme_metrics.har.deep_json import too_deep
from readme_metrics.har.key_numbers import NUMBER_START, NUMBER_TEXT
from readme_metrics.har.percent import decode_component, percent_decoded
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import post
from tests.support.key_site import Site
from tests.support.work_count import calls as _calls

# -- 1. a binary body sent with a form's type (curl --data-binary's default) -------------

_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_UNDECODED = re.compile("([\udc80-\udcff]+)")


def _former_run(match: re.Match[str]) -> str:
    """How a5f6c74 read one run of escapes: as UTF-8, each byte a strict decoder refuses
    kept as the escape written (found by each piece's length in bytes)."""
    escapes = match.group(0)
    out, start = [], 0
    for piece in _UNDECODED.split(bytes.fromhex(escapes.replace("%", ""))
                                  .decode("utf-8", "surrogateescape")):
        if piece and "\udc80" <= piece[0] <= "\udcff":
            end = start + len(piece)
            out.append(escapes[3 * start:3 * end])
        else:
            end = start + len(piece.encode("utf-8"))
            out.append(piece)
        start = end
    return "".join(out)


def _former_decode_component(text: str) -> str:
    text = text.replace("+", " ")
    return _RUN.sub(_former_run, text) if "%" in text else text


_BYTES = st.one_of(st.integers(0, 255), st.sampled_from(
    [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0,
     0xF4, 0xF5, 0xFF]))
_ESCAPE = st.tuples(_BYTES, st.booleans(), st.booleans()).map(
    lambda t: "%" + "".join(c.lower() if low else c.upper()
                            for c, low in zip(f"{t[0]:02X}", t[1:])))
_UTF8 = st.text(min_size=1, max_size=2).map(
    lambda s: "".join(f"%{b:02x}" for b in s.encode("utf-8", "surrogatepass")))


@given(st.lists(st.one_of(_ESCAPE, _UTF8, st.sampled_from(
    ["a", "+", "=", "%", "%2", "%zz", "%%", "é", "\udce9", "\u4e2d", "\U0001f600"])),
    max_size=40))
@example(["%e2", "%82", "%E2", "%82", "%AC"])  # a sequence cut short, then a whole one
@example(["%ED", "%A0", "%80"])  # a surrogate: no UTF-8
@example(["%F4", "%90", "%80", "%80"])  # past U+10FFFF
@example(["%C0", "%AF"])  # overlong
def test_decode_component_reads_a_run_as_before(pieces: list[str]) -> None:
    """decode_component decodes the escapes that spell UTF-8 characters by a regular
    expression of them and keeps every other escape as written (in its case), where
    a5f6c74 decoded each run of escapes in a Python call: the same text."""
    text = "".join(pieces)
    assert decode_component(text) == _former_decode_component(text)


def test_a_binary_body_sent_as_a_form_costs_few_calls_a_kib() -> None:
    """Random bytes posted with a form's type: the escapes of their bytes beyond ASCII
    (about half of them) were decoded one run at a time, a Python call each, and twice
    (the redaction's read and the params'): 516 Python calls a KiB on a5f6c74 (0.65 s
    of the worker a MiB), 102 now (0.27 s). The bound is 200 calls a KiB; the log shows
    the same params (test_decode_component_reads_a_run_as_before)."""
    body = random.Random(7).randbytes(64 * 1024)
    exchange = post("application/x-www-form-urlencoded", body, group=Group("rdme_key_1234"))
    redactor = Redactor(denylist=["password"])
    # Once first: the lazy regexes compile at their first use, once a process (about 100
    # calls a KiB of this body's 64, counted as a KiB's work before; CI57 failed at 264).
    build_log(exchange, redactor=redactor, max_body_bytes=1 << 20)
    per_kib = _calls(lambda: build_log(exchange, redactor=redactor,
                                       max_body_bytes=1 << 20)) / 64
    assert per_kib <= 200, per_kib


# -- 2. the look for a percent-encoded key in a JSON body (#/%%%...) ----------------------


@given(st.lists(st.one_of(_ESCAPE, _UTF8, st.sampled_from(
    ["%", "%%", "%2", "%g1", "\\", "\\x", "\\x41", "\\u0041", "\\N{DASH}", "\\\n", "a", "\x00",
     "\x7f", "\x80", "é", "\udce9", "\U0001f600"])), max_size=40),
       st.sampled_from(["surrogateescape", "replace"]))
@example(["%e2", "%82", "é", "%AC"], "replace")  # a sequence cut short by a character
@example(["%C3", "\U0001f600", "%A9", "%"], "surrogateescape")  # a tail after one
@example(["%C3", "\udca9"], "surrogateescape")  # a lone surrogate: no bytes of its own
def test_percent_decoded_is_unquote(pieces: list[str], errors: str) -> None:
    """percent_decoded reads escapes through the unicode_escape codec (a "%" starting
    none kept, a backslash the text holds doubled); urllib's unquote is the oracle."""
    text = "".join(pieces)
    assert percent_decoded(text, errors) == unquote(text, errors=errors)


@pytest.mark.parametrize("run", [b"%", b"%41"], ids=["lone-percents", "escapes"])
def test_a_json_patch_pointer_of_escapes_costs_few_calls_a_kib(run: bytes) -> None:
    """A JSON Patch whose pointer is a URI fragment of 64 KiB of "%41" (or of "%"): the
    caller's key is looked for in it percent-decoded (CallerKey._encoded_in: "%41" is an
    escape of a letter), as JSON Patch's keys are read (pointer_keys), by urllib's
    unquote, a Python loop over each "%" (a KeyError raised and caught for a lone one).
    Python and C calls a KiB for "%41": 1,368 on a5f6c74, 700 on main de44718, 6 now;
    for "%": 2,050 on a5f6c74, 2 on main (which reads such a JSON string by
    decode_component first) and now. The bound is 50. Counted on a second build: run
    alone, the first build's compiling of patterns made "%" 153 a KiB (hostile41's
    readers of percent-encoded zlib magics added another, 51.5 in the whole file)."""
    body = (b'[{"op":"add","path":"#/' + run * (64 * 1024 // len(run))
            + b'","value":1}]')
    exchange = post("application/json-patch+json", body, group=Group("rdme_key_1234"))
    redactor = Redactor(denylist=["password"])
    build = lambda: build_log(exchange, redactor=redactor, max_body_bytes=1 << 20)  # noqa: E731
    build()  # warmed: a pattern compiled at its first use is a call once per process
    per_kib = _calls(build, ("call", "c_call")) / 64
    assert per_kib <= 50, per_kib


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_escapes_between_characters_beyond_ascii_cost_few_calls_a_kib(
        content_type: str) -> None:
    """review51: percent_decoded read a text beyond ASCII one ASCII run at a time, a
    Python call and five in C each: 64 KiB of "é%41" (a JSON string, a text body: the
    caller's key looked for percent-decoded, CallerKey._encoded_in) cost 1,436 calls a
    KiB, 0.20 s of the worker's CPU a MiB (best of 5), more than urllib's unquote it
    replaced (0.13-0.14 s on a5f6c74). Now one pass in C, as for ASCII: 3 calls a KiB,
    0.009-0.013 s. The bound is 50."""
    run = "é%41".encode()
    text = run * (64 * 1024 // len(run))
    body = b'{"note":"' + text + b'"}' if content_type.endswith("json") else text
    exchange = post(content_type, body, group=Group("rdme_key_1234"))
    redactor = Redactor(denylist=["password"])
    build = lambda: build_log(exchange, redactor=redactor, max_body_bytes=1 << 20)  # noqa: E731
    build()  # warmed: a pattern compiled at its first use is a call once per process
    per_kib = _calls(build, ("call", "c_call")) / 64
    assert per_kib <= 50, per_kib


_LONG_KEY = "sk_live_0123456789"
_ENCODED = "".join(f"%{byte:02X}" for byte in _LONG_KEY.encode())
# The caller's key, every character percent-encoded, beside what percent_decoded reads
# in one pass (characters beyond ASCII) or a run at a time (bytes no UTF-8: a lone
# surrogate once decoded), and beside escapes that decode to nothing.
_BESIDE = {
    "accents": "é%41" + _ENCODED + "é%e2%82é",
    "emoji-and-a-cut-sequence": "\U0001f600%C3" + _ENCODED.lower() + "%",
    "no-utf-8": "\udcff%ED%A0%80" + _ENCODED + "\udcfe",
}


@pytest.mark.parametrize("text", list(_BESIDE.values()), ids=list(_BESIDE))
@pytest.mark.parametrize("where", ["json", "text", "multipart-name", "header"])
def test_a_key_percent_encoded_beside_characters_beyond_ascii_is_masked(
        site: Site, where: str, text: str) -> None:
    """review51 (a guard for percent_decoded's one pass): through the middleware to the
    collector, the key is found percent-decoded wherever percent_decoded reads a text
    for it (CallerKey._encoded_in, a multipart text's RFC 2231 name)."""
    raw = text.encode("utf-8", "surrogateescape")
    headers = {"Content-Type": {"json": "application/json", "text": "text/plain",
                                "multipart-name": "multipart/form-data; boundary=XyZ",
                                "header": "text/plain"}[where]}
    body = b""
    if where == "json":
        body = b'{"note": "' + raw + b'", "list": ["' + raw + b'", "' + raw + b'"]}'
    elif where == "text":
        body = raw
    elif where == "multipart-name":
        body = (b"--XyZ\r\nContent-Disposition: form-data; name*=UTF-8''" + raw
                + b"\r\n\r\n1\r\n--XyZ--\r\n")
    else:
        headers["X-Note"] = text.encode("utf-8", "surrogateescape").decode("latin-1")
    entry, leaks = site.send(_LONG_KEY, "/p", "", "POST", headers, body)
    assert leaks == [], json.dumps(entry["request"])[:1000]
    assert "sha512-" in json.dumps(entry["request"])  # found, and masked


# -- 3. deep_json.too_deep on a string holding [[[...]]] (read by each reader of it) -------


def _deeper_than(text: str, limit: int) -> bool:
    """too_deep's answer, bracket by bracket: the depth of arrays and objects outside
    strings (a quote opens or closes one, a backslash in one takes the next character),
    a closing bracket too many counted too."""
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest > limit


@given(st.lists(st.one_of(
    st.sampled_from(["[", "]", "{", "}", '"', '\\"', "\\", "a", "[]", '"["']),
    st.integers(1, 12).map(lambda n: "[" * n), st.integers(1, 12).map(lambda n: "]" * n)),
    max_size=60), st.integers(0, 10))
@example(["]", "[[[["], 3)  # a run past the limit after a closing bracket too many
@example(["[[", "[]", "[[", "[]", "["], 4)  # deeper once the "()" are taken out
def test_too_deep_counts_as_before(pieces: list[str], limit: int) -> None:
    """too_deep now answers a run of ``limit + 1`` opening brackets (in the brackets
    outside strings, or in what is left of them once the innermost pairs are taken out)
    in C, where the depth before it is not below 0: the same answer as the count."""
    text = "".join(pieces)
    assert too_deep(text, limit) == _deeper_than(text, limit)


def test_a_string_holding_a_deep_document_costs_few_calls_a_kib() -> None:
    """A JSON string holding 32,768 "[", a "\\u0041" and as many "]" (a document too deep to
    read, in a string: hostile10's case): too_deep counted its brackets one by one in a
    Python generator, once for each reader of the text (the string's, the document's),
    2,051 Python calls a KiB on a5f6c74 (145 ms of the worker a MiB); now 3 (17 ms),
    the run of brackets found in C. The bound is 50. Counted on a second build: run
    alone (the first build of its process), the first's compiling of the lazy patterns
    made it 207.7 (flaky51: in the whole file, or after another build, 2.5)."""
    body = json.dumps("[" * 32768 + "\\u0041" + "]" * 32768).encode()
    exchange = post("application/json", body, group=Group("rdme_key_1234"))
    redactor = Redactor(denylist=["password"])
    build = lambda: build_log(exchange, redactor=redactor, max_body_bytes=1 << 20)  # noqa: E731
    build()  # warmed: a pattern compiled at its first use is a call once per process
    per_kib = _calls(build) / 64
    assert per_kib <= 50, per_kib


# -- 4. a short numeric key in strings that are no JSON (["1 1", ...] for the key "1") ----


@given(st.lists(st.sampled_from(list("0123456789-+.eE \t\n\r\x0b") + ["Infinity", "NaN", "a"]),
                max_size=12).map("".join))
@example("1 1")
@example("1.")
@example("1e")
@example("-Infinity")
@example("01")
@example(" -0.5E+3\n")  # a number: not refused
@example("10e-1")
def test_a_text_refused_as_no_number_is_no_json(text: str) -> None:
    """CallerKey._json answers None without parsing for a text that starts as a JSON
    number and is none (NUMBER_TEXT): the C parser refuses each such text too."""
    if NUMBER_START.match(text) is not None and NUMBER_TEXT.fullmatch(text) is None:
        with pytest.raises(ValueError):
            json.loads(text)
    elif NUMBER_START.match(text) is not None:
        assert isinstance(json.loads(text), (int, float))


@given(st.lists(st.sampled_from(["1 1", "1", " 1", "1,1", "[1]", '"1"', "a1", "1 a", "x"]),
                min_size=1, max_size=8))
def test_strings_repeated_are_masked_as_each_alone(strings: list[str]) -> None:
    """The walk of a JSON document asks CallerKey.text once for each distinct string
    (and _clean's walk reuses its answers): the body's strings come out as each does
    in a body of its own."""
    redactor = Redactor(denylist=["password"])

    def logged(document: object) -> object:
        log = build_log(post("application/json", json.dumps(document).encode(),
                             group=Group("1")), redactor=redactor)
        return json.loads(log["request"]["log"]["entries"][0]["request"]["postData"]["text"])

    assert logged(strings) == [logged([string])[0] for string in strings]  # type: ignore[index]


@pytest.mark.parametrize("strings", [["1 1"] * 10923, [f"1 {i}" for i in range(6554)]],
                         ids=["one-string-repeated", "distinct-strings"])
def test_strings_of_a_short_numeric_key_cost_few_calls_a_kib(strings: list[str]) -> None:
    """The caller's key "1" (X-Api-Key: 1) and a JSON body of strings holding it as a
    word ("1 1"): each string was tried as a JSON document (a decoder of hooks made,
    its error raised and caught), then again in _clean's walk of the text: 6,150 and
    4,377 Python calls a KiB on a5f6c74 (2.1 and 1.6 s of the worker a MiB); now 6 for
    one string repeated (asked once) and 1,043 for distinct ones (refused as no number
    without parsing): 0.06 and 0.25 s. The bounds are 50 and 2,000, counted on a second
    build (flaky51: run alone, the first build's compiling of patterns failed the first)."""
    body = json.dumps(strings).encode()
    exchange = post("application/json", body, group=Group("1"))
    redactor = Redactor(denylist=["password"])
    build = lambda: build_log(exchange, redactor=redactor, max_body_bytes=1 << 20)  # noqa: E731
    build()  # warmed: a pattern compiled at its first use is a call once per process
    per_kib = _calls(build) / (len(body) / 1024)
    assert per_kib <= (50 if len(set(strings)) == 1 else 2000), per_kib
