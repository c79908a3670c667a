"""Subject ids and display names as typed: NFC, no invisible or bidi-control characters, no cross-script look-alikes.

Every subject id that comes in (enroll, verify, erase, samples, the GUI's fields through the service) goes
through ``subject_id``, so that an id typed in NFD finds the subject enrolled in NFC instead of making a second
one. Look-alikes follow Unicode TR39 (Security Mechanisms), with its data as packaged by
``confusable_homoglyphs``: an id must be of one script ("highly restrictive": Latin may mix with Han and the
Japanese or Korean scripts that go with it), and must not be a non-Latin spelling of an ASCII id (Cyrillic
"С-3001" for "C-3001"). Latin letters with diacritics ("Müller", "Yıldız") and other scripts ("Алиса",
"김철수") are kept.
"""

from __future__ import annotations

import unicodedata

from biometrix.core.errors import InvalidInput
from biometrix.core.types import SubjectId

MAX_SUBJECT_ID = 128
MAX_DISPLAY_NAME = 200

#: Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt): drawn as nothing at all.
_INVISIBLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
              (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
              (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
              (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))
#: Bidi embeddings, overrides and isolates (and the marks): they reorder what is shown.
_BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
#: Control, format, surrogate, private-use and unassigned code points, and line/paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
#: Script sets one id may mix (TR39 "highly restrictive"); Common and Inherited characters go with any script.
_ALLOWED_MIXES = (frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}), frozenset({"LATIN", "HAN", "BOPOMOFO"}),
                  frozenset({"LATIN", "HAN", "HANGUL"}))
_ANY_SCRIPT = frozenset({"COMMON", "INHERITED"})


def _code(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '(unnamed)')}"


def _invisible(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _INVISIBLE)


def _text(value: object, what: str, limit: int) -> str:
    """``value`` stripped and in NFC, non-empty and at most ``limit`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"a {what} must be a non-empty string")
    text = unicodedata.normalize("NFC", value.strip())
    if len(text) > limit:
        raise InvalidInput(f"a {what} is at most {limit} characters, got {len(text)}")
    return text


def normalized(text: str) -> str:
    """Text to search subject ids and names with (an audit filter, a search box): stripped, in NFC."""
    if not isinstance(text, str):
        raise InvalidInput(f"a search must be text, got {type(text).__name__}")
    return unicodedata.normalize("NFC", text.strip())


def subject_id(value: object) -> SubjectId:
    """A subject id as stored: stripped, NFC, at most MAX_SUBJECT_ID characters; InvalidInput naming the first
    character refused (control, invisible or bidi-control, space other than U+0020, a compatibility form such
    as full-width letters, a leading combining mark) or the look-alike found (mixed scripts, or a non-Latin
    spelling of an ASCII id)."""
    text = _text(value, "subject id", MAX_SUBJECT_ID)
    for ch in text:
        if ord(ch) in _BIDI_CONTROLS or _invisible(ch) or unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise InvalidInput(f"a subject id may not contain {_code(ch)}: control, invisible and bidi-control "
                               "characters are refused")
        if ch.isspace() and ch != " ":
            raise InvalidInput(f"a subject id may not contain {_code(ch)}: the only space allowed is U+0020")
    if unicodedata.category(text[0]).startswith("M"):
        raise InvalidInput(f"a subject id may not start with the combining mark {_code(text[0])}")
    compatible = unicodedata.normalize("NFKC", text)
    if compatible != text:
        first = next(ch for ch in text if unicodedata.normalize("NFKC", ch) != ch)
        raise InvalidInput(f"a subject id may not contain the compatibility character {_code(first)}; "
                           f"type {unicodedata.normalize('NFKC', first)!r} instead")
    if not text.isascii():
        _check_confusable(text)
    return SubjectId(text)


def _check_confusable(text: str) -> None:
    """InvalidInput when ``text`` mixes scripts beyond TR39's highly restrictive sets, or when every character of
    it outside Latin has an ASCII look-alike (so that it reads as an ASCII id)."""
    from confusable_homoglyphs import categories, confusables  # 60 ms to import: only for non-ASCII ids

    scripts = {categories.alias(ch) for ch in text} - _ANY_SCRIPT
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES):
        names = " and ".join(sorted(s.title() for s in scripts))
        raise InvalidInput(f"a subject id may not mix scripts ({names}): it could pass for another id")
    foreign = {ch for ch in text if not ch.isascii() and categories.alias(ch) != "LATIN"}
    ascii_form = {ch: _ascii_homoglyph(confusables.confusables_data.get(ch, ())) for ch in foreign}
    if foreign and all(ascii_form.values()):
        lookalike = "".join(ascii_form.get(ch) or ch for ch in text)
        raise InvalidInput(f"a subject id may not be written in characters that look like {lookalike!r}: "
                           f"{', '.join(_code(ch) for ch in sorted(foreign))}")


def _ascii_homoglyph(homoglyphs: object) -> str | None:
    for entry in homoglyphs if isinstance(homoglyphs, list) else ():
        glyph = entry.get("c", "")
        if glyph and glyph.isascii() and glyph.isprintable():
            return str(glyph)
    return None


def display_name(value: object) -> str | None:
    """A display name as stored: None for none (or blank), else stripped, NFC, at most MAX_DISPLAY_NAME
    characters, without control, bidi-control or line-separator characters (joiners that some scripts need
    are kept)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = _text(value, "display name", MAX_DISPLAY_NAME)
    for ch in text:
        if ord(ch) in _BIDI_CONTROLS or unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn", "Zl", "Zp"}:
            raise InvalidInput(f"a display name may not contain {_code(ch)}: control and bidi-control characters "
                               "are refused")
    return text
