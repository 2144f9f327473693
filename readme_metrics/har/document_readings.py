"""How a text may spell a JSON document's characters (a reading), and its quotes.

Each reading (:data:`AS_SENT`, :data:`DECODED`, single quotes, a CSV's doubled quotes, a
document in a JSON string) is the patterns of a quote, a backslash, a member name's end
and brackets as that text writes them; :class:`Quotes` finds once the quotes of a text
no backslash escapes in one reading. Read by :mod:`readme_metrics.har.redaction_cut`.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.quote_runs import quote_matches

__all__ = ["AS_SENT", "BLANK", "BLANK_DECODED", "DECODED", "DOUBLED", "ESCAPED",
           "ESCAPED_DECODED", "SINGLE", "SINGLE_DECODED", "SINGLE_ESCAPED", "Quotes",
           "Reading", "escaped", "reading_of"]


@dataclass(frozen=True)
class Reading:
    """How one reading of a form's text spells a document's characters."""

    #: A quote, after the run of backslashes before it (group 1).
    quote: re.Pattern[str]
    #: A quote alone (where to look for the one before, above).
    alone: re.Pattern[str]
    #: One backslash (to count those of a run).
    backslash: re.Pattern[str]
    #: A member's name's end: its closing quote, blanks, the colon.
    name_end: re.Pattern[str]
    blanks: re.Pattern[str]
    #: A quote, an opening or a closing bracket.
    token: re.Pattern[str]
    opening: re.Pattern[str]
    closing: re.Pattern[str]


def reading_of(quote: str, backslash: str, blank: str, colon: str, opening: str,
             closing: str) -> Reading:
    """A :class:`Reading` of the spellings (patterns) of each character."""
    return Reading(lazy_compile(f"((?:{backslash})*)(?:{quote})"), lazy_compile(quote),
                    lazy_compile(backslash),
                    lazy_compile(f"(?:{quote})(?:{blank})*(?:{colon})"),
                    lazy_compile(f"(?:{blank})*"),
                    lazy_compile(f"{quote}|{opening}|{closing}"), lazy_compile(opening),
                    lazy_compile(closing))


BLANK, BLANK_DECODED = r"[ \t\n\r]", r"[ \t\n\r+]|%(?:20|09|0[AaDd])"
AS_SENT = reading_of('"', r"\\", BLANK, ":", r"[{\[]", r"[}\]]")
DECODED = reading_of('"|%22', r"\\|%5[Cc]", BLANK_DECODED, ":|%3[Aa]",
                    r"[{\[]|%[57][Bb]", r"[}\]]|%[57][Dd]")
# Python's str(dict) (repr): names and strings in single quotes, a string holding
# one in double quotes (hostile24); as sent and percent-decoded.
SINGLE = reading_of("'", r"\\", BLANK, ":", r"[{\[]", r"[}\]]")
SINGLE_DECODED = reading_of("'|%27", r"\\|%5[Cc]", BLANK_DECODED, ":|%3[Aa]",
                           r"[{\[]|%[57][Bb]", r"[}\]]|%[57][Dd]")
# A repr or JavaScript object in a single-quoted string: each quote escaped, ``\'``
# (``'{\'password\': \'...\'}'``; hostile26).
SINGLE_ESCAPED = reading_of(r"\\'", r"\\{2}", BLANK, ":", r"[{\[]", r"[}\]]")
# A CSV field's document: each quote doubled (hostile24).
DOUBLED = reading_of('""', r"\\", BLANK, ":", r"[{\[]", r"[}\]]")


def escaped(level: int, decoded: bool) -> Reading:
    """A reading of a document held in a JSON string ``level`` deep in the one the form
    holds (review105): each quote spelled after 2**level - 1 backslashes (or as a
    ``\\u0022`` so escaped), each backslash as 2**level; ``decoded``: percent-decoded."""
    one = r"(?:\\|%5[Cc])" if decoded else r"\\"
    quote = '(?:"|%22)' if decoded else '"'
    return reading_of(f"{one}{{{2 ** level - 1}}}{quote}|{one}{{{2 ** (level - 1)}}}u0022",
                    f"{one}{{{2 ** level}}}", BLANK_DECODED if decoded else BLANK,
                    ":|%3[Aa]" if decoded else ":",
                    r"[{\[]|%[57][Bb]" if decoded else r"[{\[]",
                    r"[}\]]|%[57][Dd]" if decoded else r"[}\]]")


#: Documents held in JSON strings, up to three deep: as sent, and percent-decoded.
ESCAPED = tuple(escaped(level, False) for level in (1, 2, 3))
ESCAPED_DECODED = tuple(escaped(level, True) for level in (1, 2, 3))


class Quotes:
    """The quotes of a text no backslash escapes, in one reading: found once, in one
    pass (looked for back from each member's end, a run of escaped quotes was read
    again for each: 100 KB of them took a second). Held in arrays, 5 bytes a quote (a
    list of ints and a dict of them took 140: a MiB of ``''`` in a YAML body peaked at
    133 MiB; hostile32)."""

    def __init__(self, raw: str, reading: Reading) -> None:
        #: Where each quote starts (after its run of backslashes), and its length.
        self.at = array("i" if len(raw) < 1 << 31 else "q")
        self.size = array("B")
        for found in quote_matches(raw, reading.quote, reading.alone):
            run = found.group(1)
            if not run or len(reading.backslash.findall(run)) % 2 == 0:
                self.at.append(found.end(1))
                self.size.append(min(found.end() - found.end(1), 255))

    def __contains__(self, at: int) -> bool:
        """Whether a quote starts at ``at``."""
        index = bisect_left(self.at, at)
        return index < len(self.at) and self.at[index] == at

    def end(self, at: int) -> int:
        """The end of the quote starting at ``at`` (one of them)."""
        return at + self.size[bisect_left(self.at, at)]

    def before(self, at: int) -> int:
        """The last one before ``at``; -1 if none."""
        index = bisect_left(self.at, at)
        return self.at[index - 1] if index else -1

    def closing(self, start: int, size: int) -> int:
        """Where the closing quote of a string whose text starts at ``start`` starts, or
        ``size`` (the text's end) when it has none (cut short)."""
        index = bisect_left(self.at, start)
        return self.at[index] if index < len(self.at) else size

    def string_end(self, start: int, size: int) -> int:
        """The end of a string whose text starts at ``start``: after its closing quote,
        or ``size`` when it has none."""
        index = bisect_left(self.at, start)
        return self.at[index] + self.size[index] if index < len(self.at) else size
