"""Anonymous participant codes built from a few self-reported items.

The scheme follows unique-identifier-code (UIC) practice for key populations: items a person
can give the same way at every visit, that staff never need to write down, and that do not
identify them to anyone holding only the code. See docs/participant-codes.md for the choice of
items and the expected collision rate.

    code = MM DD YY G P     e.g. "MA14 85 F S" is stored as "MA1485FS"
      MM  first two letters of the mother's first name ("99" if unknown)
      DD  day of the month of birth, 01-31 ("99" if unknown)
      YY  last two digits of the year of birth ("99" if unknown)
      G   gender: W (woman), M (man), X (another gender / not said)
      P   first letter of the town or country of birth ("9" if unknown)

Only a keyed hash of the code is stored (see `code_hash`); the code itself never reaches the
database, the logs or the screen.
"""

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

GENDERS = {"W": "woman", "M": "man", "X": "another gender or not said"}
UNKNOWN = "9"


class CodeError(ValueError):
    """An item of the participant code cannot be used; the message says which and why."""


def _letters(value: str, count: int, item: str) -> str:
    text = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    letters = "".join(ch for ch in text.upper() if ch.isalpha())
    if not letters:
        if (value or "").strip() in {"", "?", "9", "99"}:
            return UNKNOWN * count
        raise CodeError(f"{item}: use letters, or leave it empty if unknown.")
    if len(letters) < count:
        letters = letters + UNKNOWN * (count - len(letters))
    return letters[:count]


@dataclass(frozen=True)
class CodeItems:
    mother_first_name: str
    birth_day: int | None
    birth_year: int | None
    gender: str
    birthplace: str

    def code(self) -> str:
        return build_code(self)


def build_code(items: CodeItems) -> str:
    """The normalised 8-character code for `items`, or CodeError naming the bad item."""
    mm = _letters(items.mother_first_name, 2, "Mother's first name")
    if items.birth_day is None:
        dd = UNKNOWN * 2
    elif 1 <= items.birth_day <= 31:
        dd = f"{items.birth_day:02d}"
    else:
        raise CodeError("Day of birth must be between 1 and 31.")
    if items.birth_year is None:
        yy = UNKNOWN * 2
    elif 1900 <= items.birth_year <= 2100:
        yy = f"{items.birth_year % 100:02d}"
    else:
        raise CodeError("Year of birth must be a four-digit year, e.g. 1985.")
    gender = (items.gender or "X").strip().upper()[:1]
    if gender not in GENDERS:
        raise CodeError("Gender must be W (woman), M (man) or X (another / not said).")
    place = _letters(items.birthplace, 1, "Place of birth")
    return f"{mm}{dd}{yy}{gender}{place}"


def normalise_code(text: str) -> str | None:
    """A code typed by staff (spaces, dashes, lower case allowed) in canonical form, or None."""
    compact = "".join(ch for ch in (text or "").upper() if ch.isascii() and ch.isalnum())
    if len(compact) != 8:
        return None
    mm, dd, yy, gender, place = compact[:2], compact[2:4], compact[4:6], compact[6], compact[7]
    ok = (
        all(c.isalpha() or c == UNKNOWN for c in mm)
        and dd.isdigit()
        and (dd == "99" or 1 <= int(dd) <= 31)
        and yy.isdigit()
        and gender in GENDERS
        and (place.isalpha() or place == UNKNOWN)
    )
    return compact if ok else None


def code_hash(code: str, key: str) -> str:
    """Keyed hash (HMAC-SHA256) of a normalised code: the only form that is stored.

    Without the key, which lives outside the database, the hash cannot be tested against a
    guessed list of codes.
    """
    return hmac.new(key.encode(), code.encode(), hashlib.sha256).hexdigest()


_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def pronounceable_alias(rng, syllables: int = 3) -> str:
    """A made-up, pronounceable alias such as "Kovalu" for people who do not choose one."""
    word = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables))
    return word.capitalize()
