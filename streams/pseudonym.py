"""Subject pseudonyms (SPEC 4, 8): a person becomes ``S-`` + 16 base32 chars of a keyed HMAC.

The identity key is ``person_id`` when the source gives one, else ``LAST|FIRST|birth-date``
normalised. The two never meet: the same human reported once with a ``person_id`` and once
without gets two different references. That is the SPEC's choice (``person_id`` wins): linking
them would need the names, which fieldcourt must not keep.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata

from schemas.common import Person

SUBJECT_REF_PREFIX = "S-"
SUBJECT_REF_CHARS = 16

# Letters NFKD does not decompose, and typographic variants of ASCII punctuation: "Œ" or a
# curly apostrophe must not make a second subject of someone typed with "OE" or "'".
_FOLD = str.maketrans(
    {
        "Œ": "OE",
        "Æ": "AE",
        "Ø": "O",
        "Ł": "L",
        "Đ": "D",
        "Ð": "D",
        "Þ": "TH",
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
        "\u2014": "-",
    }
)


#: An HMAC key shorter than this is refused (settings check it at start too).
PSEUDONYM_KEY_MIN_BYTES = 32


class _CombiningMarks(dict[int, int | None]):
    """``str.translate`` table deleting combining marks, filled per code point on first sight.

    Only the Basic Multilingual Plane is remembered, which bounds the table at 64 Ki entries.
    """

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        if code <= 0xFFFF:
            self[code] = kept
        return kept


_COMBINING_MARKS = _CombiningMarks()


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).translate(_COMBINING_MARKS)


def fold(text: str) -> str:
    """Upper case, accents stripped (NFKD), whitespace collapsed and trimmed.

    Stripped before and after upper-casing: NFKD can yield lower case ("ª" -> "a") and
    upper-casing can yield accents ("ǰ" -> "J̌"); both passes keep ``fold`` idempotent.
    """
    if not text.isascii():
        text = _strip_accents(_strip_accents(text).upper().translate(_FOLD))
    return " ".join(text.upper().split())


def identity_key(person: Person) -> str:
    """``person_id`` verbatim when given, else ``LAST|FIRST|YYYY-MM-DD`` (date empty if unknown)."""
    if person.person_id is not None:
        return person.person_id
    born = person.birth_date.isoformat() if person.birth_date is not None else ""
    return f"{fold(person.last_name)}|{fold(person.first_name)}|{born}"


def subject_ref(key: bytes, identity_key: str) -> str:
    """``S-`` + the first 16 RFC 4648 base32 characters of HMAC-SHA256(key, identity_key)."""
    digest = hmac.new(key, identity_key.encode("utf-8"), hashlib.sha256).digest()
    # Base32 maps each 5 bytes to 8 characters on its own: the first 10 bytes give the first
    # 16 characters, at a third of the cost of encoding all 32.
    head = digest[: SUBJECT_REF_CHARS * 5 // 8]
    return SUBJECT_REF_PREFIX + base64.b32encode(head).decode("ascii")


class Pseudonymiser:
    """Holds the pseudonym key so the rest of the pipeline never touches it."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < PSEUDONYM_KEY_MIN_BYTES:
            raise ValueError(f"pseudonym key must be at least {PSEUDONYM_KEY_MIN_BYTES} bytes")
        self._key = key

    def __repr__(self) -> str:
        return "Pseudonymiser(key=<hidden>)"

    def ref_of_key(self, identity: str) -> str:
        return subject_ref(self._key, identity)

    def ref(self, person: Person) -> str:
        """The subject reference of ``person``."""
        return subject_ref(self._key, identity_key(person))
