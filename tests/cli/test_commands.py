"""enroll / verify / identify through ``biometrix.cli.main`` with the shipped model and real signatures."""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from biometrix.cli import main
from biometrix.store import SqliteStore
from tests.cli.conftest import GALLERY, Cedar, Run, Svc, assert_one_error_line, canonical_dump

VERIFY_KEYS = {"subject_id", "decision", "accepted", "refer", "distance", "threshold", "reject_threshold", "band",
               "model_id", "reference_distances", "reference_scale", "target_fmr"}
EXIT = {"accept": 0, "reject": 1, "refer": 3}


def _named_threshold(card: dict[str, object], name: str) -> dict[str, object]:
    return next(t for t in card["thresholds"] if t["name"] == name)  # type: ignore[union-attr]


def _check_verify_json(run: Run, *, subject: str, card: dict[str, object]) -> dict[str, object]:
    """The JSON of verify of a scanned probe against the card (read independently of the runtime) and its own exit
    code: the card's three zones decide (Accept at or below ``accept``, Reject above ``reject``, Refer between)."""
    doc = run.json()
    assert isinstance(doc, dict) and set(doc) == VERIFY_KEYS
    accept, reject = _named_threshold(card, "accept"), _named_threshold(card, "reject")
    assert doc["subject_id"] == subject
    assert doc["model_id"] == card["model_id"]
    assert doc["threshold"] == pytest.approx(accept["value"])
    assert doc["reject_threshold"] == pytest.approx(reject["value"])
    assert doc["target_fmr"] == accept["target_fmr"]
    d = doc["distance"]
    zone = "accept" if d <= accept["value"] else "reject" if d > reject["value"] else "refer"  # type: ignore[operator]
    assert (doc["decision"], doc["accepted"], doc["refer"]) == (zone, zone == "accept", zone == "refer")
    assert doc["band"] == 0.0  # three zones: no band
    assert run.rc == EXIT[zone]
    refs = doc["reference_distances"]
    assert len(refs) == 5 and all(0.0 <= d <= 2.0 for d in refs)
    if card["aggregate"] == "min":
        assert doc["distance"] == pytest.approx(min(refs), abs=1e-6)
    elif card["aggregate"] == "mean":
        assert doc["distance"] == pytest.approx(sum(refs) / len(refs), abs=1e-6)
    if card["aggregate"] == "normalized":  # the distance is the mean of the references' scaled distances
        assert doc["distance"] == pytest.approx(sum(refs) / len(refs) / doc["reference_scale"], rel=1e-5)
    else:
        assert doc["reference_scale"] == 1.0
    return doc


def test_enroll_prints_summary_and_stores_five_references(cli: Callable[..., Run], cedar: Cedar, tmp_path: Path,
                                                          model_card: dict[str, object]) -> None:
    db = tmp_path / "new" / "bank.db"
    run = cli("enroll", "--db", db, "--subject", "alice", "--name", "Alice A.", "--signature",
              *cedar.references(49))
    assert run.rc == 0, run.err
    assert run.out.strip() == f"Enrolled alice: 5 signature references (model {model_card['model_id']})"
    assert run.err == ""
    with sqlite3.connect(db) as conn:  # the name is sealed at rest ...
        assert b"Alice A." not in conn.execute("SELECT display_name FROM subjects WHERE subject_id = 'alice'"
                                               ).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM samples").fetchone() == (5,)
    conn.close()
    with SqliteStore(db) as store:  # ... and read back through the store's key
        assert [(s.subject_id, s.display_name) for s in store.subjects()] == [("alice", "Alice A.")]


def test_enroll_json_and_replace(cli: Callable[..., Run], cedar: Cedar, tmp_path: Path,
                                 model_card: dict[str, object]) -> None:
    db = tmp_path / "bank.db"
    run = cli("enroll", "--db", db, "--subject", "bob", "--json", "--signature", *cedar.references(50)[:3])
    assert run.rc == 0, run.err
    assert run.json() == {"subject_id": "bob", "db": str(db), "templates": [
        {"modality": "signature", "n_references": 3, "model_id": model_card["model_id"]}]}
    before = canonical_dump(db)
    again = cli("enroll", "--db", db, "--subject", "bob", "--signature", *cedar.references(50))
    assert_one_error_line(again, "bob")
    assert canonical_dump(db) == before
    replaced = cli("enroll", "--db", db, "--subject", "bob", "--replace", "--json", "--signature",
                   *cedar.references(50))
    assert replaced.rc == 0 and replaced.json()["templates"][0]["n_references"] == 5


def test_enroll_svc2004_pen_files(cli: Callable[..., Run], svc: Svc, tmp_path: Path) -> None:
    db = tmp_path / "pen.db"
    pen_files = [svc.sample(1, n) for n in range(1, 6)]
    run = cli("enroll", "--db", db, "--subject", "u1", "--json", "--signature", *pen_files)
    assert run.rc == 0, run.err
    assert run.json()["templates"][0]["n_references"] == 5
    with sqlite3.connect(db) as conn:
        media = {row[0] for row in conn.execute("SELECT media_type FROM samples")}
    conn.close()
    # the pen data itself is kept (deflated: service.inputs.kept_sample), not a rendering
    assert media == {"application/vnd.biometrix.strokes+json+deflate"}
    probe = cli("verify", "--db", db, "--subject", "u1", "--json", "--signature", svc.sample(1, 10))
    assert probe.rc in (0, 1), probe.err
    assert probe.json()["subject_id"] == "u1"


def test_verify_a_resubmitted_reference_is_accepted(cli: Callable[..., Run], cedar: Cedar, tmp_path: Path) -> None:
    """Five copies of one signature as references: the same signature as probe is at distance ~0 under any
    aggregate and any model, so this pins the accept path (text line, exit 0) independently of model quality."""
    db = tmp_path / "bank.db"
    assert cli("enroll", "--db", db, "--subject", "carol", "--signature", *[cedar.genuine(51, 1)] * 5).rc == 0
    run = cli("verify", "--db", db, "--subject", "carol", "--signature", cedar.genuine(51, 1))
    assert run.rc == 0, (run.out, run.err)
    line = run.out.strip()
    assert re.match(r"Accept  subject=carol distance=0\.0+ accept=", line), line  # a scan: three zones
    assert " model=" in line


def test_verify_genuine_probe_json(cli: Callable[..., Run], bank_db: Path, cedar: Cedar,
                                   model_card: dict[str, object]) -> None:
    run = cli("verify", "--db", bank_db, "--subject", "s46", "--json", "--signature", cedar.genuine(46, 12))
    doc = _check_verify_json(run, subject="s46", card=model_card)
    text = cli("verify", "--db", bank_db, "--subject", "s46", "--signature", cedar.genuine(46, 12))
    assert text.rc == run.rc
    label = str(doc["decision"]).capitalize()
    m = re.fullmatch(rf"{label} +subject=s46 distance=(\d+\.(\d+)) accept=(\d+\.(\d+)) reject=(\d+\.(\d+)) "
                     rf"model={re.escape(str(model_card['model_id']))}", text.out.strip())
    assert m, text.out
    # The distance is shown at the threshold's precision, with 4 significant digits of the threshold, whatever
    # the model's scale (a `min` aggregate's threshold is near 0.001, where a fixed 4 decimals would show 0.0011).
    decimals = len(m[4])
    assert len(m[2]) == decimals
    assert len(m[3].replace(".", "").lstrip("0")) == 4
    assert float(m[1]) == pytest.approx(doc["distance"], abs=0.51 * 10 ** -decimals)
    assert float(m[3]) == pytest.approx(doc["threshold"], abs=0.51 * 10 ** -decimals)
    assert len(m[6]) == decimals
    assert float(m[5]) == pytest.approx(doc["reject_threshold"], abs=0.51 * 10 ** -decimals)


def test_verify_is_audited(cli: Callable[..., Run], bank_db: Path, cedar: Cedar) -> None:
    def audit_rows() -> list[tuple[str, str]]:
        with sqlite3.connect(bank_db) as conn:
            rows = conn.execute("SELECT event, subject_id FROM audit_log ORDER BY event_id").fetchall()
        conn.close()
        return rows

    before = audit_rows()
    run = cli("verify", "--db", bank_db, "--subject", "s47", "--signature", cedar.forgery(47, 1))
    assert run.rc in (0, 1)
    assert audit_rows() == [*before, ("verify", "s47")]


def test_identify_ranks_true_signer_first_and_agrees_with_verify(cli: Callable[..., Run], bank_db: Path,
                                                                 cedar: Cedar) -> None:
    for signer in GALLERY:
        probe = cedar.genuine(signer, 10)
        run = cli("identify", "--db", bank_db, "--top-k", 3, "--json", "--signature", probe)
        assert run.rc == 0, run.err
        ranked = run.json()
        assert [c["rank"] for c in ranked] == [1, 2, 3]
        assert {c["subject_id"] for c in ranked} == {f"s{s}" for s in GALLERY}
        distances = [c["distance"] for c in ranked]
        assert distances == sorted(distances)
        # Independent cross-check: each subject's 1:1 distance is the identify distance.
        for c in ranked:
            one = cli("verify", "--db", bank_db, "--subject", c["subject_id"], "--json", "--signature", probe).json()
            assert one["distance"] == pytest.approx(c["distance"], abs=1e-5)
            assert c["below_threshold"] == one["accepted"]
        assert ranked[0]["subject_id"] == f"s{signer}", ranked


def test_identify_table_and_top_k(cli: Callable[..., Run], bank_db: Path, cedar: Cedar,
                                  model_card: dict[str, object]) -> None:
    run = cli("identify", "--db", bank_db, "--top-k", 2, "--signature", cedar.genuine(47, 11))
    assert run.rc == 0, run.err
    lines = run.out.strip().splitlines()
    assert lines[0].split() == ["rank", "subject", "distance"]
    rows = [line.split() for line in lines[1:3]]
    assert [r[0] for r in rows] == ["1", "2"]
    assert float(rows[0][2]) <= float(rows[1][2])
    assert lines[3].startswith("* below the threshold ")
    # a scanned probe: a candidate is marked where a verify would accept it, at the card's accept threshold
    accept = _named_threshold(model_card, "accept")["value"]
    assert float(lines[3].split()[4]) == pytest.approx(accept, rel=1e-3)  # type: ignore[arg-type]
    assert len(lines) == 4


def test_identify_empty_gallery(cli: Callable[..., Run], cedar: Cedar, tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    assert cli("db", "migrate", "--db", db).rc == 0
    run = cli("identify", "--db", db, "--json", "--signature", cedar.genuine(46, 1))
    assert run.rc == 0 and run.json() == []
    text = cli("identify", "--db", db, "--signature", cedar.genuine(46, 1))
    assert text.rc == 0 and text.out.startswith("No subject is enrolled")


def test_verbose_shows_database_and_providers(cli: Callable[..., Run], bank_db: Path, cedar: Cedar) -> None:
    quiet = cli("verify", "--db", bank_db, "--subject", "s46", "--signature", cedar.genuine(46, 13))
    assert quiet.err == ""
    run = cli("-v", "verify", "--db", bank_db, "--subject", "s46", "--signature", cedar.genuine(46, 13))
    assert run.rc in (0, 1)
    assert f"{bank_db} (--db)" in run.err
    assert "ExecutionProvider" in run.err  # the providers the onnxruntime session really got
    after = cli("verify", "-v", "--db", bank_db, "--subject", "s46", "--signature", cedar.genuine(46, 13))
    assert "ExecutionProvider" in after.err


def test_usage_errors_exit_2(cli: Callable[..., Run], tmp_path: Path) -> None:
    for argv in (["db"], ["verify", "--db", tmp_path / "x.db"], ["identify", "--signature", "a.png",
                                                                      "--top-k", "0"], ["frobnicate"]):
        run = cli(*argv)
        assert run.rc == 2, argv
        assert "Traceback" not in run.err and "error:" in run.err
    assert cli("--help").rc == 0
    assert not (tmp_path / "x.db").exists()


def test_no_command_without_a_display_is_a_usage_error(cli: Callable[..., Run],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    opened: list[object] = []
    monkeypatch.setattr("biometrix.cli.apps._cmd_gui", opened.append)
    run = cli()
    assert run.rc == 2 and run.out == "" and not opened
    lines = run.err.strip().splitlines()
    assert lines[0].startswith("usage: biometrix")
    assert len(lines) == 2 and "no display found" in lines[1] and "biometrix gui" in lines[1]


@pytest.mark.parametrize("env", [{"DISPLAY": ":0"}, {"WAYLAND_DISPLAY": "wayland-0"}, {"QT_QPA_PLATFORM": "offscreen"},
                                 {"platform": "win32"}])
def test_no_command_with_a_display_opens_the_app(env: dict[str, str], cli: Callable[..., Run],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("PySide6")
    import biometrix.gui.app as app

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", env.pop("platform", "linux"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    launched: list[app.LaunchOptions] = []
    monkeypatch.setattr(app, "run_app", lambda options: launched.append(options) or 0)  # no window really opens
    run = cli()
    assert run.rc == 0 and run.err == ""
    assert len(launched) == 1 and not launched[0].kiosk  # the teller app, as ``biometrix gui``
    assert cli("-v").rc == 0 and len(launched) == 2
    assert cli("db").rc == 2 and len(launched) == 2  # a command group without its subcommand stays an error


def test_keyboard_interrupt_exits_130(cli: Callable[..., Run], bank_db: Path, cedar: Cedar,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from biometrix.service import Biometrix

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Biometrix, "verify", interrupted)
    run = cli("verify", "--db", bank_db, "--subject", "s46", "--signature", cedar.genuine(46, 6))
    assert run.rc == 130
    assert "Traceback" not in run.err


def test_lazy_commands_pass_their_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate/train/export import their module only when run, and hand it the parsed arguments."""
    seen: dict[str, argparse.Namespace] = {}

    def recorder(name: str, code: int | None) -> Callable[[argparse.Namespace], int | None]:
        def entry(args: argparse.Namespace) -> int | None:
            seen[name] = args
            return code

        return entry

    fake_eval = types.ModuleType("biometrix.evaluation.cli_entry")
    fake_eval.run_evaluate = recorder("evaluate", 0)  # type: ignore[attr-defined]
    fake_train = types.ModuleType("biometrix.training.cli_entry")
    fake_train.run_train = recorder("train", None)  # type: ignore[attr-defined]
    fake_train.run_export = recorder("export", 0)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "biometrix.evaluation.cli_entry", fake_eval)
    monkeypatch.setitem(sys.modules, "biometrix.training.cli_entry", fake_train)
    assert main(["evaluate", "--dataset", "cedar", "--subjects", "46-55", "--model", "m1", "--out", "o"]) == 0
    ev = seen["evaluate"]
    assert (ev.dataset, ev.data, ev.subjects, ev.references, ev.model, ev.out) == ("cedar", None, "46-55", 5, "m1", "o")
    assert main(["train", "--config", "c.json", "--no-resume"]) == 0
    assert (seen["train"].config, seen["train"].no_resume) == ("c.json", True)
    assert main(["export", "--checkpoint", "best.pt", "--model-id", "sig-v2"]) == 0
    ex = seen["export"]
    assert (ex.checkpoint, ex.model_id, ex.out, ex.fp16_weights) == (["best.pt"], "sig-v2", None, False)
    assert main(["export", "--checkpoint", "a.pt", "b.pt", "--model-id", "sig-v3", "--fp16-weights"]) == 0
    ex = seen["export"]
    assert (ex.checkpoint, ex.fp16_weights) == (["a.pt", "b.pt"], True)
    # a repeated --checkpoint adds to the list instead of replacing it (argparse's default would keep b.pt only)
    assert main(["export", "--checkpoint", "a.pt", "--checkpoint", "b.pt", "c.pt", "--model-id", "sig-v4"]) == 0
    assert seen["export"].checkpoint == ["a.pt", "b.pt", "c.pt"]


@pytest.mark.parametrize("command", ["evaluate", "train", "export"])
def test_missing_optional_command_is_one_line(command: str, cli: Callable[..., Run],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    module = "biometrix.evaluation.cli_entry" if command == "evaluate" else "biometrix.training.cli_entry"
    monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ModuleNotFoundError
    argv = {"evaluate": ["--dataset", "cedar"], "train": ["--config", "c.json"],
            "export": ["--checkpoint", "x.pt", "--model-id", "m"]}[command]
    assert_one_error_line(cli(command, *argv), "not available", module)
