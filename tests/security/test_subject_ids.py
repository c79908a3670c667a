"""Finding 8: ids with a bidi override, zero-width characters or Cyrillic letters that look Latin were accepted,
and an id in NFD form enrolled as a second subject beside its NFC twin. Each look-alike must be refused before
anything is written; the NFD twin must find the NFC subject everywhere an id comes in; plain ids in any script
stay accepted; display names are bounded and free of control characters."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.cli import main
from biometrix.core.errors import AlreadyEnrolled, InvalidInput
from biometrix.core.types import Modality
from biometrix.identifiers import MAX_DISPLAY_NAME, MAX_SUBJECT_ID, subject_id
from tests.test_access_control import drawn, redrawn

NFC_MULLER = unicodedata.normalize("NFC", "Müller")
NFD_MULLER = unicodedata.normalize("NFD", "Müller")

ATTACKS = {
    "bidi-override": ("alice\u202egnp.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    "bidi-isolate": ("\u2067alice", "U+2067 RIGHT-TO-LEFT ISOLATE"),
    "zero-width-space": ("ali\u200bce", "U+200B ZERO WIDTH SPACE"),
    "zero-width-joiner": ("alice\u200d", "U+200D ZERO WIDTH JOINER"),
    "word-joiner": ("al\u2060ice", "U+2060 WORD JOINER"),
    "hangul-filler": ("alice\u3164", "U+3164 HANGUL FILLER"),
    "soft-hyphen": ("C-30\u00ad01", "U+00AD SOFT HYPHEN"),
    "cyrillic-a-in-latin": ("\u0430lice", "mix scripts (Cyrillic and Latin)"),
    "greek-omicron-in-latin": ("b\u03bfb", "mix scripts (Greek and Latin)"),
    "all-cyrillic-C-3001": ("\u0421-3001", "look like 'C-3001'"),
    "all-cyrillic-lookalike": ("\u0421\u0430\u0440\u0430", "look like 'Capa'"),
    "unicode-hyphen": ("C\u20103001", "look like 'C-3001'"),
    "full-width": ("\uff41lice", "compatibility character U+FF41"),
    "no-break-space": ("alice\u00a0smith", "U+00A0 NO-BREAK SPACE"),
    "leading-combining-mark": ("\u0301alice", "combining mark"),
    "newline": ("alice\nbob", "U+000A"),
    "too-long": ("x" * (MAX_SUBJECT_ID + 1), f"at most {MAX_SUBJECT_ID} characters"),
}
PLAIN = ["alice", "C-3001", "cedar-046", NFC_MULLER, "Алиса", "José", "Yıldız", "Анна", "Ιωάννης", "김철수",
         "山田たろう", "مريم", "O'Brien", "jean paul"]


@pytest.mark.parametrize(("attack", "fragment"), list(ATTACKS.values()), ids=list(ATTACKS))
def test_look_alike_ids_are_refused_before_anything_is_written(attack: str, fragment: str, tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with Biometrix(db) as bx, pytest.raises(InvalidInput) as err:
        bx.enroll(attack, signatures=[drawn(0), drawn(1)])
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert not db.exists()  # refused before the database was even opened


@pytest.mark.parametrize("plain", PLAIN)
def test_plain_ids_in_any_script_are_kept(plain: str) -> None:
    assert subject_id(plain) == plain


def test_plain_ids_enroll_and_come_back_unchanged(tmp_path: Path) -> None:
    with Biometrix(tmp_path / "bank.db") as bx:
        for i, plain in enumerate(["alice", "C-3001", "cedar-046", NFC_MULLER, "Алиса"]):
            bx.enroll(plain, signatures=[drawn(10 * i), drawn(10 * i + 1)])
        assert sorted(s.subject_id for s in bx.subjects()) == sorted(["alice", "C-3001", "cedar-046", NFC_MULLER,
                                                                      "Алиса"])


def test_the_nfd_twin_finds_the_nfc_subject_everywhere(tmp_path: Path) -> None:
    assert NFD_MULLER != NFC_MULLER and len(NFD_MULLER) == len(NFC_MULLER) + 1
    with Biometrix(tmp_path / "bank.db") as bx:
        bx.enroll(NFC_MULLER, signatures=[drawn(1), drawn(2), drawn(3)])
        with pytest.raises(AlreadyEnrolled):  # the same subject, not a second one beside it
            bx.enroll(NFD_MULLER, signatures=[drawn(4), drawn(5)])
        decision = bx.verify(NFD_MULLER, signature=redrawn(1))
        assert decision.subject_id == NFC_MULLER
        assert [c.subject_id for c in bx.identify(signature=redrawn(2), top_k=1)] == [NFC_MULLER]
        assert len(bx.samples(NFD_MULLER, modality=Modality.SIGNATURE)) == 3
        assert {e.event for e in bx.audit(subject_id=NFD_MULLER)} == {"enroll", "verify", "identify"}
        assert [s.subject_id for s in bx.subjects(unicodedata.normalize("NFD", "Mü"))] == [NFC_MULLER]
        assert [s.subject_id for s in bx.subjects()] == [NFC_MULLER]
        bx.erase(NFD_MULLER)
        assert bx.subjects() == []


def test_an_nfd_id_is_stored_in_nfc(tmp_path: Path) -> None:
    with Biometrix(tmp_path / "bank.db") as bx:
        (template,) = bx.enroll(NFD_MULLER, signatures=[drawn(1), drawn(2)])
        assert template.subject_id == NFC_MULLER
        assert [s.subject_id for s in bx.subjects()] == [NFC_MULLER]
        assert bx.verify(NFC_MULLER, signature=redrawn(1)).subject_id == NFC_MULLER


@pytest.mark.parametrize(("name", "fragment"), [
    ("Alice\x1b[2J", "U+001B"),  # a terminal escape in `audit list` or `db info` output
    ("Alice\nroot admin", "U+000A"),
    ("Alice \u202eevil", "U+202E"),
    ("A" * (MAX_DISPLAY_NAME + 1), f"at most {MAX_DISPLAY_NAME} characters"),
], ids=["escape", "newline", "bidi-override", "too-long"])
def test_display_names_are_bounded_and_free_of_control_characters(name: str, fragment: str, tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with Biometrix(db) as bx, pytest.raises(InvalidInput, match=re.escape(fragment)):
        bx.enroll("alice", signatures=[drawn(0), drawn(1)], display_name=name)
    assert not db.exists()


def test_plain_display_names_are_kept_in_nfc(tmp_path: Path) -> None:
    persian = "می\u200cخواهم"  # the zero-width non-joiner is part of Persian spelling: kept
    with Biometrix(tmp_path / "bank.db") as bx:
        bx.enroll("alice", signatures=[drawn(0), drawn(1)], display_name=unicodedata.normalize("NFD", "Zoë Müller"))
        bx.enroll("bob", signatures=[drawn(2), drawn(3)], display_name=persian)
        names = {s.subject_id: s.display_name for s in bx.subjects()}
    assert names == {"alice": unicodedata.normalize("NFC", "Zoë Müller"), "bob": persian}


def test_the_cli_refuses_a_bidi_id_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOMETRIX_DB", str(tmp_path / "env-default.db"))
    db = tmp_path / "bank.db"
    cli: Callable[..., int] = lambda *a: main([str(x) for x in a])  # noqa: E731
    png = tmp_path / "ref.png"
    import cv2

    cv2.imwrite(str(png), drawn(0))
    rc = cli("enroll", "--db", db, "--subject", "alice\u202egnp", "--signature", png, png)
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "U+202E" in err
    assert not db.exists()
