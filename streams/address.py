"""Address keys (SPEC 4): one string per street address, whatever way an officer typed it.

``12, Rue Curial 75019 Paris``, ``12 r. curial, PARIS 75019`` and ``75019 Paris, 12 rue Curial``
all give ``12 RUE CURIAL PARIS 75019``. The canonical order puts the postcode last: when a
postcode trails without a comma ("... Curial Paris 75019") nothing tells the city from the
street, so "city before postcode" is the only order every spelling can reach.

Steps: fold (upper case, accents stripped), split on commas, drop punctuation, split digits
from letters (``12bis`` -> ``12 BIS``), move the postcode last, drop a leading ``n°``, expand
abbreviations (street types only where a street type stands).
"""

from __future__ import annotations

import re

from streams.pseudonym import fold

# Expanded wherever they stand: none of them is an ordinary word in a French address.
_ANYWHERE = {
    "BD": "BOULEVARD",
    "BLD": "BOULEVARD",
    "BVD": "BOULEVARD",
    "BOUL": "BOULEVARD",
    "BOULEV": "BOULEVARD",
    "AV": "AVENUE",
    "AVE": "AVENUE",
    "PL": "PLACE",
    "FG": "FAUBOURG",
    "FBG": "FAUBOURG",
    "ST": "SAINT",
    "STE": "SAINTE",
    "STS": "SAINTS",
    "IMP": "IMPASSE",
    "SQ": "SQUARE",
    "CRS": "COURS",
    "RTE": "ROUTE",
    "PROM": "PROMENADE",
    "GAL": "GENERAL",
    "MAL": "MARECHAL",
    "PDT": "PRESIDENT",
}

# Expanded only as the street type (first word of a comma part, or right after the house
# number): "R" or "ALL" elsewhere may be an initial or part of a name.
_STREET_TYPE = {
    "R": "RUE",
    "ALL": "ALLEE",
    "PASS": "PASSAGE",
    "CH": "CHEMIN",
    "CHEM": "CHEMIN",
}

#: House-number suffixes kept as words of their own.
NUMBER_SUFFIXES = frozenset({"BIS", "TER", "QUATER", "QUINQUIES"})
_NUMBER_WORDS = frozenset({"N", "NO", "NUM", "NUMERO"})

_POSTCODE = re.compile(r"^\d{5}$")
_PUNCTUATION = re.compile(r"[\W_]+")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")


def _words(part: str) -> list[str]:
    spaced = _DIGIT_LETTER.sub(" ", _PUNCTUATION.sub(" ", part))
    return spaced.split()


#: A word of the address, flagged when it opens a comma-separated part.
_Token = tuple[str, bool]


def _tokens(address: str) -> list[_Token]:
    """Words in canonical order: the postcode's part after the others, the postcode last."""
    parts = [words for words in (_words(part) for part in fold(address).split(",")) if words]
    parts.sort(key=lambda words: any(_POSTCODE.match(w) for w in words))  # stable
    tokens = [(word, i == 0) for words in parts for i, word in enumerate(words)]
    codes = [i for i, (word, _) in enumerate(tokens) if _POSTCODE.match(word)]
    if codes:
        at = codes[-1]
        postcode, opened = tokens.pop(at)
        if opened and at < len(tokens):
            tokens[at] = (tokens[at][0], True)
        tokens.append((postcode, False))
    return tokens


def _drop_number_words(tokens: list[_Token]) -> list[_Token]:
    """``n° 12 rue ...`` -> ``12 RUE ...``; right to left, so that ``N, N 12`` settles at once."""
    kept: list[_Token] = []
    for word, opens in reversed(tokens):
        if opens and word in _NUMBER_WORDS and kept and kept[-1][0].isdigit():
            continue
        kept.append((word, opens))
    return kept[::-1]


def _follows_number(words: list[str]) -> bool:
    """Whether the next word follows a house number, with or without a suffix (``12 BIS``)."""
    if words and not words[-1].isdigit() and (words[-1] in NUMBER_SUFFIXES or len(words[-1]) == 1):
        words = words[:-1]
    return bool(words) and words[-1].isdigit()


def _expand(tokens: list[_Token]) -> list[str]:
    out: list[str] = []
    for i, (word, opens) in enumerate(tokens):
        if word in _STREET_TYPE and i + 1 < len(tokens) and (opens or _follows_number(out)):
            word = _STREET_TYPE[word]
        out.append(_ANYWHERE.get(word, word))
    return out


def address_key(address: str | None) -> str | None:
    """The normalised key of ``address``; ``None`` when there is no address.

    A key is its own key: downstream code may normalise twice without harm.
    """
    tokens = _tokens(address) if address is not None else []
    return " ".join(_expand(_drop_number_words(tokens))) or None
