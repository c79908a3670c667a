"""Two services (two server processes' worth of connections) on one PostgreSQL database: what one enrolls, replaces
or erases is in the other's next verify and identify, its index caught up from the database's change log; each
answer is the brute-force one over the store's gallery."""

from __future__ import annotations

from pathlib import Path

from biometrix import Biometrix
from biometrix.core.types import Modality
from tests.cli.conftest import MODELS_DIR, Cedar
from tests.postgres import PgDatabase
from tests.service.test_identify_index import _oracle_check

SIG = Modality.SIGNATURE


def test_enroll_on_one_service_verify_and_identify_on_the_other(cedar: Cedar, pg_ready: PgDatabase,
                                                               tmp_path: Path) -> None:
    url = pg_ready.server_url
    with Biometrix(url, models_dir=MODELS_DIR, prefer_gpu=False) as one, \
            Biometrix(url, models_dir=MODELS_DIR, prefer_gpu=False) as two, \
            Biometrix(tmp_path / "local.db", models_dir=MODELS_DIR, prefer_gpu=False) as local:
        one.enroll("s46", signatures=cedar.references(46))
        local.enroll("s46", signatures=cedar.references(46))
        for probe in (cedar.genuine(46, 20), cedar.genuine(46, 21), cedar.forgery(46, 1)):
            remote, here = two.verify("s46", signature=probe), local.verify("s46", signature=probe)
            assert (remote.accepted, remote.distance, remote.threshold) == (here.accepted, here.distance,
                                                                            here.threshold)
        probe = cedar.genuine(47, 20)
        assert [c.subject_id for c in two.identify(signature=probe, top_k=5)] == ["s46"]  # builds two's index
        one.enroll("s47", signatures=cedar.references(47))
        got = two.identify(signature=probe, top_k=5)  # caught up from the change log
        assert got[0].subject_id == "s47"
        _oracle_check(two, url, probe, got, 5)
        one.erase("s47")
        got = two.identify(signature=probe, top_k=5)
        assert [c.subject_id for c in got] == ["s46"]
        _oracle_check(two, url, probe, got, 5)
        assert one.verify_audit().ok and two.info().n_subjects == 1
