"""hostile62: a URL password written as a placeholder is kept only when its name names a
secret as a whole word (review151 finding 3).

hostile59's rule kept a password of a placeholder's shape (``{...}``, ``<...>``,
``${...}``, ``{{ ... }}``, ``%(...)s``) whose name held ``pass``, ``pw``, ``secret``,
``token``, ``key``, ``cred`` or ``auth`` anywhere: ``{Passion}``, ``<Compassion>``,
``{Authority}``, ``<monkeybars>``, ``${Bypass}`` were kept, sent in clear. Now the name is
split into words (``_``, ``.``, ``-``, camelCase) and one of them, whole, must be a
secret's name (:data:`readme_metrics.har.userinfo_placeholder.SECRET_WORDS`); anything
else is hidden (fail closed). review151's five rows are in tests/test_review151_findings.py.
"""

from __future__ import annotations

import json
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from readme_metrics.har.text_userinfo import userinfo_hidden_in
from readme_metrics.har.userinfo_placeholder import SECRET_WORDS
from tests.support.logged_urls import denied_bodies, query_as_written
from tests.test_hostile59_findings import FORM, _headers


def _logged(url: str) -> list[str]:
    """``url`` as logged in a text body, a JSON body, a form's value, a query's value and a
    Referer (the denylist on): each place a URL's password is hidden."""
    logged = denied_bodies(f"see {url} now", "text/plain") + _headers("Referer", url)
    logged += denied_bodies(json.dumps({"u": url}), "application/json")
    return logged + denied_bodies("a=1&u=" + quote(url, safe=""), FORM) + list(
        query_as_written(quote(url, safe="")))


@pytest.mark.parametrize("password", [
    "${DB_PASSWORD}", "{apiKey}", "{APIKey}", "{{ secret_key }}", "{{password}}",
    "<password>", "<your-password>", "<api-key>", "{MyPassword}", "{db_pass}", "{pw}",
    "{user.password}", "%(password)s", "${AUTH_TOKEN}", "{clientSecret}", "{creds}",
])
def test_a_placeholder_naming_a_secret_is_kept(password: str) -> None:
    """Guards (passed before too): a name one of whose words is a secret's name is a
    placeholder, kept as written in a text, a JSON body, a form's value (read encoded)
    and a Referer."""
    url = f"https://ada:{password}@host/p"
    for text in (f"see {url} now", json.dumps({"u": url}), "a=1&u=" + quote(url, safe="")):
        assert userinfo_hidden_in(text) == text
    assert [unquote(value) for value in _headers("Referer", url)] == [url]


@pytest.mark.parametrize("password", [
    "{Passport}", "<Keystone>", "${Tokenizer}", "{oauth}", "{Secretary}", "<credible>",
    "{Password1}", "{PGPASSWORD}", "<author_name>", "{{turnkey}}", "%(compassion)s",
])
def test_a_name_holding_a_secrets_name_only_inside_a_word_is_hidden(password: str) -> None:
    """A secret's name inside a longer word (``Passport``, ``oauth``, ``turnkey``), a
    digit in the name, or one word of capitals (``PGPASSWORD``: a placeholder hidden,
    fail closed) is a password: hidden everywhere. Failed before: 10 of 11 (all but
    ``{Password1}``, hidden for its digit since hostile59)."""
    bare = password.strip("<>{}$%()s ")
    assert [text for text in _logged(f"https://ada:{password}@host/p")
            if bare in text] == []


#: A placeholder's shapes: its name in place of ``%s``, and the separators its name may
#: hold between words (``{{ name }}``'s blanks end a URL's authority: no password).
_SHAPES = [("{%s}", "_."), ("${%s}", "_."), ("{{%s}}", "_."), ("%%(%s)s", "_."),
           ("<%s>", "_.-")]
_LOWER = st.text("abcdefghijklmnopqrstuvwxyz", max_size=4)


@st.composite
def _hidden_names(draw: st.DrawFn) -> tuple[str, str]:
    """A placeholder (its shape, its name's words joined by a separator or camelCase) whose
    words are no secret's name, one of them holding one inside (``Passion``,
    ``DB_MONKEY.x``, ``myCompassion``): (the placeholder, that word as written)."""
    secret = draw(st.sampled_from(sorted(SECRET_WORDS)))
    word = draw(_LOWER) + secret + draw(_LOWER)
    others = draw(st.lists(_LOWER.filter(bool), max_size=2))
    words = [*others, word] if draw(st.booleans()) else [word, *others]
    assume(word != secret and not SECRET_WORDS.intersection(words))
    shape, separators = draw(st.sampled_from(_SHAPES))
    if draw(st.booleans()):  # camelCase: the first word lower or Capitalized, the rest
        words = [words[0].capitalize() if draw(st.booleans()) else words[0]] + [
            other.capitalize() for other in words[1:]]  # Capitalized (no word of capitals
        name = "".join(words)  # before a lowercase one: ``KEYSabc`` reads KEY, Sabc)
    else:
        words = [draw(st.sampled_from([str.lower, str.upper, str.capitalize]))(each)
                 for each in words]
        name = draw(st.sampled_from(list(separators))).join(words)
    written = words[[each.lower() for each in words].index(word)]
    return shape % name, written


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(_hidden_names())
def test_a_secrets_name_inside_a_longer_word_is_no_placeholder(
        placeholder: tuple[str, str]) -> None:
    """The property: a name whose words hold a secret's name only inside a longer word is
    no placeholder's: the password is hidden in every carrier (failed before: any such
    name with no digit was kept)."""
    password, word = placeholder
    logged = _logged(f"https://ada:{password}@host/p")
    assert [text for text in logged if word in text] == [], (password, logged)
    assert all("REDACTED" in text for text in logged), (password, logged)
