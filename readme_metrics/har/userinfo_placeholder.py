"""A URL's password that is wholly a code's or a document's placeholder, or a mask: no
secret, kept as written (:func:`.text_userinfo.hidden_password`; hostile57: hidden till
then, review146's leftover b).

A code's placeholder standing for the password (``f"https://{user}:{password}@{host}"``,
``"postgres://%s:%s@%s/%s"``, ``%(password)s``, ``${DB_PASSWORD}``, ``{{ password }}``),
a document's (``<password>``, ``<your-password>``) or a mask (``***``: SQLAlchemy's
``repr`` of a URL). A password of that shape is a password unless its name says what it
stands for: the name holds no digit (``{Zq8h22Xw3K}``, ``${Pa55}``, ``<p4ss>``,
``{Password1}`` are passwords: hostile59), and one of its words, read whole, is a
secret's name (:data:`SECRET_WORDS`). The words are split at ``_``, ``.``, ``-`` and
camelCase (``DB_PASSWORD``, ``apiKey``, ``MyPassword``, ``APIKey``, ``your-password``:
each holds one; a name holds no blank: ``{pass word}`` is a password). A secret's name
inside a longer word is no name: ``{Passion}``, ``<Compassion>``, ``{Authority}``,
``<monkeybars>``, ``${Bypass}`` are passwords, hidden (review151: kept and sent, the name
matched anywhere, till hostile62).
Fail closed: a placeholder hidden is harmless noise (``{PGPASSWORD}``, one word, is
hidden), a password kept is sent.
"""

from __future__ import annotations

from typing import Optional

from readme_metrics._lazy_re import lazy_compile

__all__ = ["SECRET_WORDS", "is_placeholder"]

#: The words that name a secret, lower-cased: a placeholder's name holds one whole.
SECRET_WORDS = frozenset((
    "pass", "passwd", "password", "passphrase", "pw", "pwd", "secret", "token", "key",
    "apikey", "cred", "creds", "credential", "credentials", "auth"))

_NAME = r"([A-Za-z_][A-Za-z_.]*)"

#: A placeholder's shape, its name (if it has one) the one group that matched.
_SHAPE = lazy_compile(
    r"\{" + _NAME + r"\}|%[sd]|%\(" + _NAME + r"\)s|\$\{" + _NAME + r"\}|\{\{ ?" + _NAME
    + r" ?\}\}|<" + _NAME.replace("_.]*", "_.\\-]*") + r">|\*+")

#: A name's words: a run of capitals not followed by a lowercase letter (``DB``, ``API``
#: in ``APIKey``), or a capital then lowercase letters (``Key``, ``Password``).
_WORDS = lazy_compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")


def is_placeholder(password: str) -> bool:
    """Whether ``password`` (as the URL means it: decoded) is wholly a placeholder."""
    found = _SHAPE.fullmatch(password)
    if found is None:
        return False
    name: Optional[str] = found[found.lastindex] if found.lastindex else None
    return name is None or any(
        word.lower() in SECRET_WORDS for word in _WORDS.findall(name))
