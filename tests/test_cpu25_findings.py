"""cpu25: the redaction verdict of a flat name (header, query, cookie, form field) is
remembered per name as given, bounded: a log asks about each name two to five times and
the names repeat from log to log (with a denylist, a small GET log cost the worker
394k instructions, 333k with the cache; docs/PERFORMANCE.md, "Sixteenth session")."""

from __future__ import annotations

import pytest

from readme_metrics.har import redaction
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_forms import CACHED_NAME
from readme_metrics.har.redaction_names import folded_name

# Names as clients write them: cases, a byte order mark, caseless matches beyond ASCII
# (ß and SS, final sigma), brackets (a path of segments), blanks, "_" and "-".
NAMES = [
    "password", "Password", "PASSWORD", "\ufeffpassword", "pass word", "user[password]",
    "items[0][token]", "user.password", "straße", "STRASSE", "Straße", "ΣΊΣΥΦΟΣ", "σίσυφος",
    "x-api-key", "X_Api_Key", "token", "Token ", "a[b", "[", "İ", "K", "theme", "",
]
LISTS = [
    (["password"], []),
    (["strasse", "σίσυφος", "token"], []),
    ([], ["theme", "password"]),
    (["user.password", "x-api-key"], ["token", "password"]),
    (["token"], ["token", "straße"]),
]


def _uncached(redactor: Redactor, name: str) -> tuple[bool, bool]:
    return redactor._lists(folded_name(name))


@pytest.mark.parametrize("deny, allow", LISTS)
def test_verdicts_are_those_of_the_lists_in_any_order(deny: list[str], allow: list[str]) -> None:
    for order in (NAMES, NAMES[::-1]):
        redactor = Redactor(deny, allow)
        for name in order * 2:  # asked again: from the cache
            denied, allowed = _uncached(redactor, name)
            assert redactor.denies(name) is (bool(deny) and denied)
            assert redactor.redacts(name) is (denied or (bool(allow) and not allowed))
            assert redactor.allows(name) is (bool(allow) and allowed and not denied)


def test_a_name_asked_again_is_not_folded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    redactor = Redactor(["password"], ["theme"])
    calls: list[str] = []
    folded = redaction.folded_name

    def counted(name: str) -> str:
        calls.append(name)
        return folded(name)

    monkeypatch.setattr(redaction, "folded_name", counted)
    for _ in range(3):
        assert redactor.redacts("Password") is True
        assert redactor.denies("Password") is True
        assert redactor.allows("Theme") is True
        assert redactor.redacts("Theme") is False
    assert calls == ["Password", "Theme"]


def test_the_cache_is_bounded_and_keeps_no_long_name() -> None:
    redactor = Redactor(["password"])
    long_name = "p" * (CACHED_NAME + 1)
    assert redactor.denies(long_name) is False
    assert long_name not in redactor._named
    for number in range(redaction._BRACKETED_MAX + 50):
        redactor.redacts(f"name{number}")
    assert len(redactor._named) == redaction._BRACKETED_MAX
    # Past the bound the verdicts are still right, only no longer kept.
    assert redactor.redacts("PASSWORD") is True and "PASSWORD" not in redactor._named
