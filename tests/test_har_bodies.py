"""readme_metrics.har: the request's postData and the response's content (SPEC section 4):
text in its charset, JSON byte-exact, forms and multipart as params, binary as base64,
truncation to max_body_bytes, and redaction inside bodies.

Every table case goes through ``json.dumps``/``json.loads`` (what is actually sent) and
:func:`tests.support.har_check.assert_valid_log` (the strict HAR 1.2 schema plus the SPEC contract).
"""

from __future__ import annotations

import base64
from typing import Any, Optional

import pytest

from readme_metrics.exchange import Exchange
from readme_metrics.redaction import Redactor
from tests.support.contract import exchange, reading_app
from tests.support.exchanges import (
    MULTIPART,
    MULTIPART_CT,
    MULTIPART_PARAMS,
    PNG,
    PNG_B64,
    entry_of,
    make_exchange,
    post,
)
from tests.support.fake_api import Collector

# -- request body -----------------------------------------------------------------------


DENY = Redactor(["password", "avatar"])


POST_DATA_CASES = [
    pytest.param(post("application/json", b'{ "a": 1 }'),
                 None, {"mimeType": "application/json", "text": '{ "a": 1 }'}, id="json"),
    pytest.param(post("application/vnd.api+json; charset=utf-8", b"[1]"), None,
                 {"mimeType": "application/vnd.api+json; charset=utf-8", "text": "[1]"},
                 id="plus-json"),
    pytest.param(post("application/xml", b"<a>\xc3\xa9</a>"), None,
                 {"mimeType": "application/xml", "text": "<a>é</a>"}, id="xml"),
    pytest.param(post("text/plain; charset=latin-1", b"caf\xe9"), None,
                 {"mimeType": "text/plain; charset=latin-1", "text": "café"},
                 id="declared-charset"),
    pytest.param(post("text/plain; charset=utf-16", "hé".encode("utf-16")), None,
                 {"mimeType": "text/plain; charset=utf-16", "text": "hé"}, id="utf-16"),
    pytest.param(post("text/plain; charset=x-bogus", b"hi"), None,
                 {"mimeType": "text/plain; charset=x-bogus", "text": "hi"},
                 id="unknown-charset-utf8"),
    pytest.param(post("text/plain; charset=base64", b"hi"), None,
                 {"mimeType": "text/plain; charset=base64", "text": "hi"},
                 id="non-text-codec-utf8"),
    pytest.param(post("text/plain; charset=utf-7", b"+2AA-"), None,
                 {"mimeType": "text/plain; charset=utf-7", "text": "+2AA-"},
                 id="codec-yielding-surrogates-utf8"),
    pytest.param(post("text/plain; charset=unicode_escape", b"\\ud800\xff"), None,
                 {"mimeType": "text/plain; charset=unicode_escape", "text": "\\ud800\xff"},
                 id="codec-yielding-surrogates-text-as-latin-1"),
    pytest.param(post("application/octet-stream; charset=unicode_escape", b"\\ud800\xff"),
                 None, {"mimeType": "application/octet-stream; charset=unicode_escape",
                        "text": "XHVkODAw/w==", "comment": "base64"},
                 id="codec-yielding-surrogates-binary"),
    pytest.param(post(None, b"hello"), None, {"mimeType": "text/plain", "text": "hello"},
                 id="no-content-type-text"),
    pytest.param(post(None, PNG), None,
                 {"mimeType": "text/plain", "text": PNG_B64, "comment": "base64"},
                 id="no-content-type-binary"),
    pytest.param(post("", b"hi"), None, {"mimeType": "text/plain", "text": "hi"},
                 id="empty-content-type"),
    pytest.param(post("application/octet-stream", b"plain ascii"), None,
                 {"mimeType": "application/octet-stream", "text": "plain ascii"},
                 id="octet-stream-decoding-as-text"),
    pytest.param(post("image/png", PNG), None,
                 {"mimeType": "image/png", "text": PNG_B64, "comment": "base64"}, id="binary"),
    pytest.param(post("image/png", PNG[:4], size=100), None,
                 {"mimeType": "image/png", "text": "iVBORw==",
                  "comment": "base64; truncated to 4 of 100 bytes"}, id="binary-truncated"),
    pytest.param(post("text/plain", b"abcd", size=10), None,
                 {"mimeType": "text/plain", "text": "abcd",
                  "comment": "truncated to 4 of 10 bytes"}, id="text-truncated"),
    pytest.param(post("text/plain", "aé".encode()[:2], size=3), None,
                 {"mimeType": "text/plain", "text": "a",
                  "comment": "truncated to 2 of 3 bytes"}, id="truncated-mid-character"),
    pytest.param(post("text/plain", b"", size=500), None,
                 {"mimeType": "text/plain", "text": "",
                  "comment": "truncated to 0 of 500 bytes"}, id="nothing-recorded"),
    pytest.param(post("text/plain", b"abc", size=-1), None,
                 {"mimeType": "text/plain", "text": "abc"}, id="unknown-size"),
    pytest.param(post("application/x-www-form-urlencoded", b"a=1&b=caf%C3%A9+x&a=&c"), None,
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "a", "value": "1"}, {"name": "b", "value": "café x"},
                             {"name": "a", "value": ""}, {"name": "c", "value": ""}]},
                 id="urlencoded"),
    pytest.param(post("application/x-www-form-urlencoded; charset=UTF-8", b"a=1&b=2",
                      size=20), None,
                 {"mimeType": "application/x-www-form-urlencoded; charset=UTF-8",
                  "params": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}],
                  "comment": "truncated to 7 of 20 bytes"}, id="urlencoded-truncated"),
    pytest.param(post("application/x-www-form-urlencoded", b"x=%FF\xff"), None,
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "x", "value": "%FF%FF"}]}, id="urlencoded-garbage"),
    # A raw byte that is not UTF-8 is kept percent-encoded, as its escape is: U+FFFD lost
    # it (a latin-1 form's "caf\xe9" sent without its charset).
    pytest.param(post("application/x-www-form-urlencoded",
                      b"a=caf\xe9&b=caf%E9&c=caf\xc3\xa9&d\xff=\xc3"), None,
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "a", "value": "caf%E9"}, {"name": "b", "value": "caf%E9"},
                             {"name": "c", "value": "café"}, {"name": "d%FF", "value": "%C3"}]},
                 id="urlencoded-raw-bytes-not-utf8"),
    # The declared charset says what the bytes mean, escaped or raw (HUNT7 C).
    pytest.param(post("application/x-www-form-urlencoded; charset=latin-1",
                      b"a=caf\xe9&b=caf%E9&c=caf\xc3\xa9&d\xff=\xc3&e=%25E9+%zz"), None,
                 {"mimeType": "application/x-www-form-urlencoded; charset=latin-1",
                  "params": [{"name": "a", "value": "café"}, {"name": "b", "value": "café"},
                             {"name": "c", "value": "cafÃ©"}, {"name": "dÿ", "value": "Ã"},
                             {"name": "e", "value": "%E9 %zz"}]},
                 id="urlencoded-declared-latin-1"),
    pytest.param(post("application/x-www-form-urlencoded; charset=windows-1252",
                      b"a=%80%81\x9d"), None,
                 {"mimeType": "application/x-www-form-urlencoded; charset=windows-1252",
                  "params": [{"name": "a", "value": "€%81%9D"}]},
                 id="urlencoded-declared-bytes-it-cannot-decode-kept-encoded"),
    pytest.param(post("application/x-www-form-urlencoded; charset=Shift_JIS",
                      "表=表".encode("shift_jis") + b"%95%5C"), None,
                 {"mimeType": "application/x-www-form-urlencoded; charset=Shift_JIS",
                  "params": [{"name": "表", "value": "表表"}]},
                 id="urlencoded-declared-multibyte-raw-and-escaped"),
    # Codecs that are no charset a form can be in: read as UTF-8, as without one.
    *(pytest.param(post(f"application/x-www-form-urlencoded; charset={charset}", body), None,
                   {"mimeType": f"application/x-www-form-urlencoded; charset={charset}",
                    "params": params}, id=f"urlencoded-declared-{charset}-not-used")
      for charset, body, params in [
          ("utf-7", b"a=+AOk-&b=%E9", [{"name": "a", "value": " AOk-"},
                                       {"name": "b", "value": "%E9"}]),
          ("utf-16", b"a=%E9", [{"name": "a", "value": "%E9"}]),
          ("rot13", b"a=%E9&gbxra=1", [{"name": "a", "value": "%E9"},
                                       {"name": "gbxra", "value": "1"}]),
          ("base64", b"a=YQ%3D%3D", [{"name": "a", "value": "YQ=="}]),
          ("raw_unicode_escape", b"%5Cu0074oken=%E9",
           [{"name": "\\u0074oken", "value": "%E9"}]),
          ("iso-2022-jp", b"a=%1B%24B%25%22", [{"name": "a", "value": "\x1b$B%\""}]),
          ("cp037", b"a=%E9", [{"name": "a", "value": "%E9"}]),
          ("x-bogus", b"a=%E9", [{"name": "a", "value": "%E9"}]),
      ]),
    pytest.param(post(MULTIPART_CT, MULTIPART), None,
                 {"mimeType": MULTIPART_CT, "params": MULTIPART_PARAMS}, id="multipart"),
    pytest.param(post(MULTIPART_CT, b'--XyZ\r\nContent-Disposition: form-data; name="t"\r\n'
                      b"Content-Type: text/plain; charset=utf-7\r\n\r\n+2AA-\r\n--XyZ--\r\n"),
                 None, {"mimeType": MULTIPART_CT, "params": [{"name": "t", "value": "?"}]},
                 id="multipart-part-charset-yielding-surrogates"),
    # Bytes that do not decode are kept percent-encoded, as a urlencoded form keeps them
    # (U+FFFD lost them); a part's declared charset is used (webob read "café" in latin-1
    # as "cafï¿½") and an unknown one is UTF-8, as a body's is (the whole body was
    # unparsable). A file part without a Content-Type (requests sends none given no type)
    # is application/octet-stream, as RFC 7578 (4.4) labels a file of unknown type.
    pytest.param(post(MULTIPART_CT, b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n'
                      b"\r\ncaf\xe9\r\n"
                      b'--XyZ\r\nContent-Disposition: form-data; name="n\xe9\xc3\xa9"\r\n'
                      b"\r\nx\r\n"
                      b'--XyZ\r\nContent-Disposition: form-data; name="c"\r\n'
                      b"Content-Type: text/plain; charset=latin-1\r\n\r\ncaf\xe9\r\n"
                      b'--XyZ\r\nContent-Disposition: form-data; name="d"\r\n'
                      b"Content-Type: text/plain; charset=x-bogus\r\n\r\ncaf\xc3\xa9\r\n"
                      b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="\xe9.bin"'
                      b"\r\n\r\n\x00\xff\r\n--XyZ--\r\n"), None,
                 {"mimeType": MULTIPART_CT, "params": [
                     {"name": "a", "value": "caf%E9"}, {"name": "n%E9é", "value": "x"},
                     {"name": "c", "value": "café"}, {"name": "d", "value": "café"},
                     {"name": "f", "fileName": "%E9.bin",
                      "contentType": "application/octet-stream",
                      "value": "data:application/octet-stream;name=%E9.bin;base64,AP8="}]},
                 id="multipart-bytes-not-utf8-kept-percent-encoded"),
    # A JSON file with a byte that is not UTF-8 and nothing to redact keeps its bytes.
    pytest.param(post(MULTIPART_CT, b'--XyZ\r\nContent-Disposition: form-data; name="j"; '
                      b'filename="j.json"\r\nContent-Type: application/json\r\n\r\n'
                      b'{"a": "\xe9"}\r\n--XyZ--\r\n'), DENY,
                 {"mimeType": MULTIPART_CT, "params": [
                     {"name": "j", "fileName": "j.json", "contentType": "application/json",
                      "value": "data:application/json;name=j.json;base64,"
                               + base64.b64encode(b'{"a": "\xe9"}').decode()}]},
                 id="multipart-json-file-not-utf8-kept"),
    pytest.param(post("multipart/form-data", b"--x\r\nbroken"), None,
                 {"mimeType": "multipart/form-data", "text": "--x\r\nbroken"},
                 id="multipart-without-boundary"),
    pytest.param(post(MULTIPART_CT, PNG), None,
                 {"mimeType": MULTIPART_CT, "text": PNG_B64, "comment": "base64"},
                 id="multipart-garbage"),
    pytest.param(post("application/json", b'{"user": {"Password": "pw"}, "n": "\xc3\xa9"}'),
                 DENY, {"mimeType": "application/json",
                        "text": '{"user":{"Password":"[REDACTED 2]"},"n":"é"}'},
                 id="json-redacted"),
    pytest.param(post("application/json", b'{ "ok" : 1 }'), DENY,
                 {"mimeType": "application/json", "text": '{ "ok" : 1 }'},
                 id="json-nothing-to-redact-byte-exact"),
    pytest.param(post("application/json", b'{"a": 1, "password": "se', size=400), DENY,
                 {"mimeType": "application/json", "text": "[REDACTED 24]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole; truncated to 24 of 400 bytes"},
                 id="truncated-json-with-denied-key-redacted-whole"),
    pytest.param(post("application/json", b'{"a": 1, "b": "se', size=400), DENY,
                 {"mimeType": "application/json", "text": '{"a": 1, "b": "se',
                  "comment": "truncated to 17 of 400 bytes"},
                 id="truncated-json-without-denied-key-kept"),
    pytest.param(post("application/json", b'{"pass\\u0077ord": "x"}'), DENY,
                 {"mimeType": "application/json", "text": '{"password":"[REDACTED 1]"}'},
                 id="json-escaped-key-redacted"),
    # (Any \u escape hid it whole before binary1: "\u00e9" spells no denied name.)
    pytest.param(post("application/json", b'{"a": 1, "n": "\\u00e9", "x":', size=99), DENY,
                 {"mimeType": "application/json", "text": '{"a": 1, "n": "\\u00e9", "x":',
                  "comment": "truncated to 28 of 99 bytes"},
                 id="truncated-json-with-harmless-escapes-kept"),
    pytest.param(post("application/json", b'{"a": 1, "n": "\\u00e9", "pa\\u0073sword":',
                      size=99), DENY,
                 {"mimeType": "application/json", "text": "[REDACTED 40]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole; truncated to 40 of 99 bytes"},
                 id="truncated-json-with-an-escaped-denied-key-redacted-whole"),
    pytest.param(post("text/plain", b"password is x"), DENY,
                 {"mimeType": "text/plain", "text": "password is x"}, id="plain-text-not-json"),
    # A form sent as text/plain (fetch's string body) is read as one (redact14).
    pytest.param(post("text/plain", b"password=x"), DENY,
                 {"mimeType": "text/plain", "text": "password=%5BREDACTED%201%5D"},
                 id="plain-text-form"),
    pytest.param(post("application/x-www-form-urlencoded", b"user=a&PASSWORD=b%20c"), DENY,
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "user", "value": "a"},
                             {"name": "PASSWORD", "value": "[REDACTED 3]"}]},
                 id="urlencoded-redacted"),
    # A field holding JSON is redacted key by key, as a multipart field is.
    pytest.param(post("application/x-www-form-urlencoded",
                      b"data=%7B%22password%22%3A+%22pw%22%2C+%22n%22%3A+1%7D&b=%5B1"
                      b"&c=%7B%22password%22%3A"), DENY,
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "data", "value": '{"password":"[REDACTED 2]","n":1}'},
                             {"name": "b", "value": "[1"},
                             {"name": "c", "value": "[REDACTED 12]"}]},
                 id="urlencoded-field-holding-json"),
    # ... in the form's charset: the redacted document's escapes are bytes in it too (they
    # were UTF-8, read back as latin-1: "cafÃ©"); a character it has no byte for stays a
    # JSON escape.
    pytest.param(post("application/x-www-form-urlencoded; charset=latin-1",
                      b"data=%7B%22password%22%3A%22pw%22%2C%22n%22%3A%22caf%E9%22%2C"
                      b"%22e%22%3A%22%5Cu20ac%22%7D&raw={\"password\":1,\"n\":\"\xe9\"}"),
                 DENY,
                 {"mimeType": "application/x-www-form-urlencoded; charset=latin-1",
                  "params": [{"name": "data",
                              "value": '{"password":"[REDACTED 2]","n":"café","e":"\\u20ac"}'},
                             {"name": "raw", "value": '{"password":"[REDACTED]","n":"é"}'}]},
                 id="urlencoded-declared-latin-1-field-holding-json"),
    pytest.param(post("application/x-www-form-urlencoded; charset=windows-1252",
                      b"data=%7B%22password%22%3A%22pw%22%2C%22e%22%3A%22%80%5Cu20ac%22%7D"),
                 DENY,
                 {"mimeType": "application/x-www-form-urlencoded; charset=windows-1252",
                  "params": [{"name": "data",
                              "value": '{"password":"[REDACTED 2]","e":"€€"}'}]},
                 id="urlencoded-declared-windows-1252-field-holding-json"),
    # JSON sent as a form (jQuery's default Content-Type): read as a form, it would be
    # one field's name, which no list redacts.
    pytest.param(post("application/x-www-form-urlencoded", b' {"password": "a&b=c", "n": 1}'),
                 DENY, {"mimeType": "application/x-www-form-urlencoded",
                        "text": '{"password":"[REDACTED 5]","n":1}',
                        "comment": "body declared a form is JSON, so it was redacted key by "
                                   "key as JSON"},
                 id="json-sent-as-a-form"),
    pytest.param(post("application/x-www-form-urlencoded", b'{"password": "a&b'), DENY,
                 {"mimeType": "application/x-www-form-urlencoded", "text": "[REDACTED 17]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole"},
                 id="broken-json-sent-as-a-form"),
    pytest.param(post("application/x-www-form-urlencoded", b'{"a": 1}'), DENY,
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": '{"a": 1}', "value": ""}]},
                 id="json-sent-as-a-form-nothing-to-redact"),
    pytest.param(post(MULTIPART_CT, MULTIPART), DENY,
                 {"mimeType": MULTIPART_CT, "params": [
                     MULTIPART_PARAMS[0],
                     {"name": "avatar", "fileName": "me.png", "contentType": "image/png",
                      "value": "[REDACTED]"},
                     MULTIPART_PARAMS[2]]},
                 id="multipart-file-redacted"),
    pytest.param(post(MULTIPART_CT, MULTIPART), Redactor((), ["title"]),
                 {"mimeType": MULTIPART_CT, "params": [
                     MULTIPART_PARAMS[0],
                     {"name": "avatar", "fileName": "me.png", "contentType": "image/png",
                      "value": "[REDACTED]"},
                     {"name": "empty", "value": "[REDACTED 0]"}]},
                 id="multipart-allowlist"),
    pytest.param(post("multipart/form-data", b"password=1"), DENY,
                 {"mimeType": "multipart/form-data", "text": "[REDACTED]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole"},
                 id="unparsable-multipart-with-denied-key"),
    pytest.param(post("text/plain", b"abcdefgh"), None,
                 {"mimeType": "text/plain", "text": "abcd",
                  "comment": "truncated to 4 of 8 bytes"}, id="max-body-bytes-guard"),
    pytest.param(post("text/plain", b"abcd", size=-1), None,
                 {"mimeType": "text/plain", "text": "abcd",
                  "comment": "truncated to 4 bytes of a body of unknown length"},
                 id="max-body-bytes-reached-unknown-size"),
]


@pytest.mark.parametrize(("exchange", "redactor", "expected"), POST_DATA_CASES)
def test_post_data(exchange: Exchange, redactor: Optional[Redactor],
                   expected: dict[str, Any], request: pytest.FixtureRequest) -> None:
    limit = 4 if request.node.callspec.id.startswith("max-body-bytes") else 262144
    entry = entry_of(exchange, redactor=redactor, max_body_bytes=limit)
    assert entry["request"]["postData"] == expected
    size = exchange.request_body_size
    assert entry["request"]["bodySize"] == size


@pytest.mark.parametrize(
    ("method", "body", "size"),
    [
        pytest.param("GET", b"", 0, id="get"),
        pytest.param("DELETE", b"", 0, id="delete-no-body"),
        pytest.param("POST", b"", 0, id="empty-post"),
        pytest.param("GET", b"", -1, id="unknown-size"),
    ],
)
def test_no_body_no_post_data(method: str, body: bytes, size: int) -> None:
    entry = entry_of(make_exchange(method=method, request_body=body, request_body_size=size))
    assert "postData" not in entry["request"]
    assert entry["request"]["bodySize"] == size
    assert entry["request"]["method"] == method


# -- response ---------------------------------------------------------------------------


CONTENT_CASES = [
    pytest.param({"response_headers": [("Content-Type", "application/json")],
                  "response_body": b'{"a": [1, 2]}', "response_body_size": 13}, None,
                 {"size": 13, "mimeType": "application/json", "text": '{"a": [1, 2]}'},
                 id="json"),
    pytest.param({"response_headers": [("Content-Type", "text/html; charset=iso-8859-1")],
                  "response_body": b"<p>\xe9</p>", "response_body_size": 8}, None,
                 {"size": 8, "mimeType": "text/html; charset=iso-8859-1", "text": "<p>é</p>"},
                 id="html-charset"),
    pytest.param({"response_headers": [], "response_body": b"hi", "response_body_size": 2},
                 None, {"size": 2, "mimeType": "", "text": "hi"}, id="no-content-type"),
    pytest.param({"response_headers": [("Content-Type", "application/x-www-form-urlencoded")],
                  "response_body": b'{"password": "pw"}', "response_body_size": 18}, DENY,
                 {"size": 18, "mimeType": "application/x-www-form-urlencoded",
                  "text": '{"password":"[REDACTED 2]"}',
                  "comment": "body declared a form is JSON, so it was redacted key by key "
                             "as JSON"},
                 id="json-answered-as-a-form"),
    pytest.param({"response_headers": [("Content-Type", "multipart/form-data; boundary=X")],
                  "response_body": b"--X\r\nContent-Disposition: form-data; "
                                   b"name*=UTF-8''p%61ssword\r\n\r\npw\r\n--X--\r\n",
                  "response_body_size": 75}, DENY,
                 {"size": 75, "mimeType": "multipart/form-data; boundary=X",
                  "text": "[REDACTED 75]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole"},
                 id="multipart-answer-naming-a-denied-field-percent-encoded"),
    pytest.param({"response_headers": [("Content-Type", "image/png")], "response_body": PNG,
                  "response_body_size": len(PNG)}, None,
                 {"size": 10, "mimeType": "image/png", "text": PNG_B64, "encoding": "base64"},
                 id="binary"),
    pytest.param({"response_headers": [("Content-Type", "image/png")],
                  "response_body": PNG[:4], "response_body_size": 5000}, None,
                 {"size": 5000, "mimeType": "image/png", "text": "iVBORw==",
                  "encoding": "base64", "comment": "truncated to 4 of 5000 bytes"},
                 id="binary-truncated"),
    pytest.param({"response_headers": [("Content-Type", "text/csv"),
                                       ("Content-Length", "123456")],
                  "response_body": b"", "response_body_size": 123456,
                  "response_body_omitted": True}, None,
                 {"size": 123456, "mimeType": "text/csv",
                  "comment": "body sent by the server from a file (WSGI file_wrapper, ASGI "
                             "pathsend) and not recorded"},
                 id="file-wrapper-omitted"),
    pytest.param({"status": 204, "status_text": "No Content", "response_headers": [],
                  "response_body": b"", "response_body_size": 0}, None,
                 {"size": 0, "mimeType": "", "text": ""}, id="no-content"),
    pytest.param({"response_headers": [("Content-Type", "application/json")],
                  "response_body": b'{"token": "abc", "id": 1}', "response_body_size": 25},
                 Redactor(["token"]),
                 {"size": 25, "mimeType": "application/json",
                  "text": '{"token":"[REDACTED 3]","id":1}'}, id="json-redacted"),
    pytest.param({"response_headers": [("Content-Type", "application/json")],
                  "response_body": b'[{"token": "abc"', "response_body_size": 999},
                 Redactor(["token"]),
                 {"size": 999, "mimeType": "application/json", "text": "[REDACTED 16]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole; truncated to 16 of 999 bytes"},
                 id="truncated-json-redacted-whole"),
    # An OAuth token endpoint may answer as a form (RFC 6749 before JSON, GitHub's still
    # by default): its fields are redacted as a request form's, the text kept otherwise.
    pytest.param({"response_headers": [("Content-Type", "application/x-www-form-urlencoded")],
                  "response_body": b"access_token=gho_16C7&scope=repo%2Cgist&token_type=bearer",
                  "response_body_size": 57}, Redactor(["Access_Token"]),
                 {"size": 57, "mimeType": "application/x-www-form-urlencoded",
                  "text": "access_token=%5BREDACTED%208%5D&scope=repo%2Cgist&token_type=bearer"},
                 id="form-redacted-by-field"),
    pytest.param({"response_headers": [("Content-Type", "application/x-www-form-urlencoded")],
                  "response_body": b"access_token=gho_16C7&token_type=bearer",
                  "response_body_size": 39}, Redactor(allowlist=["token_type"]),
                 {"size": 39, "mimeType": "application/x-www-form-urlencoded",
                  "text": "access_token=%5BREDACTED%208%5D&token_type=bearer"},
                 id="form-allowlist-by-field"),
    # A latin-1 form's field holding JSON: written back in latin-1, as its escapes are.
    pytest.param({"response_headers": [("Content-Type",
                                        "application/x-www-form-urlencoded; charset=latin-1")],
                  "response_body": b"d=%7B%22password%22%3A%22pw%22%2C%22n%22%3A%22%E9%22%7D",
                  "response_body_size": 55}, Redactor(["password"]),
                 {"size": 55, "mimeType": "application/x-www-form-urlencoded; charset=latin-1",
                  "text": "d=%7B%22password%22%3A%22%5BREDACTED%202%5D%22%2C%22n%22%3A%22%E9"
                          "%22%7D"},
                 id="form-declared-latin-1-field-holding-json"),
    pytest.param({"response_headers": [("Content-Type", "multipart/form-data; boundary=B")],
                  "response_body": b'--B\r\nContent-Disposition: form-data; name="password"'
                                   b"\r\n\r\nhunter2\r\n--B--\r\n",
                  "response_body_size": 72}, Redactor(["password"]),
                 {"size": 72, "mimeType": "multipart/form-data; boundary=B",
                  "text": "[REDACTED 72]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole"},
                 id="multipart-naming-a-denied-field-redacted-whole"),
]


@pytest.mark.parametrize(("changes", "redactor", "expected"), CONTENT_CASES)
def test_response_content(changes: dict[str, Any], redactor: Optional[Redactor],
                          expected: dict[str, Any]) -> None:
    entry = entry_of(make_exchange(**changes), redactor=redactor)
    assert entry["response"]["content"] == expected
    assert entry["response"]["bodySize"] == changes["response_body_size"]


LATIN_1_FORM = "application/x-www-form-urlencoded; charset=latin-1"
# A non-ASCII name, spelled in the declared charset and in UTF-8 (a client's wrong
# charset: werkzeug, Starlette and webob read a form as UTF-8 whatever it says).
FORM_DENY = Redactor(["pässwort", "token"])


@pytest.mark.parametrize(("body", "params", "text"), [
    pytest.param(b"p%E4sswort=caf%E9&a=1", [("pässwort", "[REDACTED 4]"), ("a", "1")],
                 "p%E4sswort=%5BREDACTED%204%5D&a=1", id="name-in-the-charset"),
    pytest.param(b"p\xe4sswort=caf\xe9", [("pässwort", "[REDACTED 4]")],
                 "pässwort=%5BREDACTED%204%5D", id="raw-bytes"),
    pytest.param(b"p%C3%A4sswort=x&a=%E9", [("pÃ¤sswort", "[REDACTED 1]"), ("a", "é")],
                 "p%C3%A4sswort=%5BREDACTED%201%5D&a=%E9", id="name-in-utf-8"),
    pytest.param(b"a=1%23t%6Fken=caf%E9", [("a", "1#token=[REDACTED 4]")],
                 "a=1%23t%6Fken=%5BREDACTED%204%5D", id="after-a-hash"),
])
def test_a_form_in_its_declared_charset_is_redacted_by_the_names_it_reads(
        body: bytes, params: list[tuple[str, str]], text: str) -> None:
    """The request's params, and the text of a response that is such a form (the body as
    received, in its charset), hide the same values."""
    entry = entry_of(post(LATIN_1_FORM, body), redactor=FORM_DENY)
    assert [(p["name"], p["value"]) for p in entry["request"]["postData"]["params"]] == params
    answer = entry_of(make_exchange(response_headers=[("Content-Type", LATIN_1_FORM)],
                                    response_body=body, response_body_size=len(body)),
                      redactor=FORM_DENY)["response"]["content"]
    assert answer["text"] == text


# -- the log as the Metrics API gets it, through the middleware (SPEC 4, black box) --------


# The form the black-box case posts (tests.support.exchanges.MULTIPART is the table's).
MULTIPART_UPLOAD = (
    b"--XyZ\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue 1\r\n"
    b"--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"pic.png\"\r\n"
    b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x00\xff\r\n--XyZ--\r\n"
)


@pytest.mark.parametrize("content_type, body, expected", [
    pytest.param("application/x-www-form-urlencoded", b"a=1+2&b=&a=%26",
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "a", "value": "1 2"}, {"name": "b", "value": ""},
                             {"name": "a", "value": "&"}]}, id="form"),
    pytest.param("application/x-www-form-urlencoded; charset=latin-1", b"a=caf%E9&b=\xe9t\xe9",
                 {"mimeType": "application/x-www-form-urlencoded; charset=latin-1",
                  "params": [{"name": "a", "value": "café"}, {"name": "b", "value": "été"}]},
                 id="form-in-its-charset"),
    pytest.param("multipart/form-data; boundary=XyZ", MULTIPART_UPLOAD,
                 {"mimeType": "multipart/form-data; boundary=XyZ",
                  "params": [{"name": "field", "value": "value 1"},
                             {"name": "upload", "fileName": "pic.png",
                              "contentType": "image/png",
                              "value": "data:image/png;name=pic.png;base64,"
                                       + base64.b64encode(b"\x89PNG\r\n\x00\xff").decode()}]},
                 id="multipart"),
    pytest.param("application/json", b'{"b": 1,  "a": [true]}',
                 {"mimeType": "application/json", "text": '{"b": 1,  "a": [true]}'},
                 id="json-exact"),
    pytest.param("application/vnd.api+json; charset=utf-8", b'{"x": "\xc3\xa9"}',
                 {"mimeType": "application/vnd.api+json; charset=utf-8",
                  "text": '{"x": "é"}'}, id="plus-json"),
    pytest.param("application/xml", b"<a><b>1</b></a>",
                 {"mimeType": "application/xml", "text": "<a><b>1</b></a>"}, id="xml"),
    pytest.param("text/csv", b"a,b\n1,2\n", {"mimeType": "text/csv", "text": "a,b\n1,2\n"},
                 id="text-star"),
    pytest.param(None, b"no type given", {"mimeType": "text/plain", "text": "no type given"},
                 id="no-content-type"),
    pytest.param("image/png", b"\x89PNG\r\n\x1a\n\x00\xff\xfe",
                 {"mimeType": "image/png",
                  "text": base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff\xfe").decode(),
                  "comment": "base64"}, id="binary"),
])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_post_data_shapes(inline_wrap: Any, collector: Collector, method: str,
                          content_type: Optional[str], body: bytes,
                          expected: dict[str, Any]) -> None:
    app = reading_app()
    headers = {} if content_type is None else {"Content-Type": content_type}
    _, _, entry = exchange(inline_wrap(app), collector, method=method, body=body, headers=headers)
    assert app.seen["body"] == body
    assert entry["request"]["postData"] == expected
    assert entry["request"]["bodySize"] == len(body)


def test_binary_response_is_base64(inline_wrap: Any, collector: Collector) -> None:
    data = bytes(range(256))
    _, _, entry = exchange(
        inline_wrap(reading_app(headers=[("Content-Type", "application/octet-stream")],
                         body=[data[:100], data[100:]])), collector)
    content = entry["response"]["content"]
    assert content["encoding"] == "base64"
    assert base64.b64decode(content["text"]) == data
    assert content["size"] == 256 and content["mimeType"] == "application/octet-stream"
