"""1:N identification at 10k, 100k and 1M enrolled subjects: ``Biometrix.identify`` through its in-memory index
(start-up build from the encrypted store, memory, latency p50/p99), beside a numpy brute force and FAISS
``IndexFlatIP`` over the same vectors measured in the same run, and the HNSW option with its recall@1.

The gallery: real held-out signatures embedded by the shipped signature model through the runtime (CEDAR signers
46-55 genuine 1-24, SVC2004 users 31-40 genuine 1-20 rendered by the app's pen renderer, SigComp2011 Dutch writers,
all genuine: none of them trained or calibrated the model), and synthetic subjects made from them. A synthetic
subject takes a real signer, 6 of that signer's genuine embeddings chosen at random (5 references, 1 probe), and
rotates all 6 by one rotation: the one, in the plane of the signer's mean direction a and b, that takes a to b.
b = normalise(c + beta u), u a random unit vector, around a centre c = normalise(a + beta w) fixed per real signer
(w random): so the rotation keeps the real within-subject geometry exactly (every distance among the 6) and moves
the subject away from its signer; beta = sqrt(d / (1 - d)) puts two synthetic subjects of one signer as far apart
(cosine distance d) as the median pair of real signers' mean directions, and the real signer about as far from
them (a real signer at the centre of its synthetic subjects would be a hub that HNSW's link pruning cuts them off
from). The real signers are enrolled too (their first 5 genuine), so the public-API probes, their other real
genuine images, each have a true mate (rank-1 is printed as a check). Subjects go into the SQLite store with the
store's bulk path ``enroll_bulk`` (sealed and change-logged as ``enroll`` writes them), not through
``Biometrix.enroll``: that would embed 5 million images for 1M subjects (hours: the first line printed gives the
embedding rate); each reference gets a placeholder sample of a few bytes, so these databases' size is not the product's.

What a subject takes in a real database is measured first, apart: held-out subjects with 5 real references each
(CEDAR and SigComp2011 Dutch scans, SVC2004 pen files, AT&T face photos) enrolled through ``Biometrix.enroll``,
which keeps their raw samples as ``service.inputs.kept_sample`` does (issue 32 item 4): the database's growth per
subject and the kept samples' share of it (``--no-storage`` skips this).

Per size it prints: the start-up build (``Biometrix.prepare_identify``: read and decrypt every reference from the
store, one AES-GCM open each), the index's memory (vectors held; and the process's resident memory growth, steady
and peak) against the raw float32 references; identify latency p50/p99 through the public API (probe image embedded
by the model, search, audit row written), of the index search alone, of numpy (matrix-vector product and
argpartition over the references) and of FAISS IndexFlatIP (k = top_k x 5 references) on 1 and 2 threads, all on
the same synthetic probes; the HNSW option's build time and memory, and its latency and recall@1 against the exact
answer for each --ef-search on the same graph.

    OMP_NUM_THREADS=1 python bench/identify_scale.py [--sizes 10000,100000] [--queries 50] [--workdir DIR --keep]
    OMP_NUM_THREADS=1 python bench/identify_scale.py --sizes 1000000 --queries 20 --hnsw-max 1000000 \
        --ef-search 64,96,128 --no-storage --workdir /tmp/bx-scale --keep

Databases are written under --workdir (a temporary folder by default, deleted at the end; with --keep they stay and
a later run with the same size and seed reuses them). 1M subjects need about 10 GB of disk and 12 GB of memory
(the index, FAISS's copy for the comparison, the HNSW graph).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from biometrix import Biometrix
from biometrix.capture.files import encode_png
from biometrix.core.types import Modality, Threshold
from biometrix.evaluation.datasets import (
    DUTCH,
    HELDOUT,
    default_data_root,
    iter_cedar,
    iter_sigcomp2011_dutch,
    iter_svc2004,
    iter_svc2004_strokes,
)
from biometrix.evaluation.faces import SPLITS, FaceSet
from biometrix.index import GalleryIndex, IndexOptions, faiss_or_none
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import PREFERRED_MODELS, ModelCard, load_card_for
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pipelines import SignaturePipeline
from biometrix.store import SampleIn, SqliteStore
from biometrix.store.base import EnrollmentPart

SIG = Modality.SIGNATURE
DUTCH_ZIP = "sigcomp2011_dutch/sigcomp2011_dutch_half.zip"
K = 5  # references per subject
TOP_K = 5


def real_signers(root: Path) -> tuple[list[str], list[list[np.ndarray]]]:
    """Held-out genuine signature images by signer: CEDAR 46-55, SVC2004 31-40 (rendered), every Dutch writer."""
    signers: dict[str, list[np.ndarray]] = {}
    for record, image in (*iter_cedar(root, HELDOUT["cedar"]), *iter_svc2004(root, HELDOUT["svc2004"])):
        if record.genuine:
            signers.setdefault(record.key, []).append(image)
    with zipfile.ZipFile(root / DUTCH_ZIP) as zf:
        for name in sorted(n for n in zf.namelist() if "/genuine/" in n and n.endswith(".png")):
            image = cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)
            signers.setdefault(f"dutch:{name.split('/')[-2]}", []).append(image)
    names = sorted(signers)
    return names, [signers[n] for n in names]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


class Synthesizer:
    """Synthetic subjects by rotating real signers' genuine embeddings (see the module docstring)."""

    def __init__(self, embedded: list[np.ndarray], seed: int) -> None:
        self.counts = np.array([len(e) for e in embedded])
        most, dim = int(self.counts.max()), embedded[0].shape[1]
        self.table = np.zeros((len(embedded), most, dim), np.float64)
        for j, e in enumerate(embedded):
            self.table[j, :len(e)] = e
        self.means = unit(np.stack([unit(e.astype(np.float64)).mean(axis=0) for e in embedded]))
        between = 1.0 - self.means @ self.means.T
        self.between = float(np.median(between[np.triu_indices(len(embedded), 1)]))
        self.beta = float(np.sqrt(self.between / (1.0 - self.between)))
        offsets = unit(np.random.default_rng([seed, 2**32 - 1]).standard_normal(self.means.shape))
        self.centres = unit(self.means + self.beta * offsets)
        self.seed = seed

    def batch(self, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Subjects start..start+n-1 (reproducible): references (n, K, D) and one genuine probe each (n, D)."""
        rng = np.random.default_rng([self.seed, start])
        signer = rng.integers(len(self.counts), size=n)
        keys = rng.random((n, self.table.shape[1]))
        keys[np.arange(self.table.shape[1])[None, :] >= self.counts[signer][:, None]] = 2.0
        chosen = np.argsort(keys, axis=1)[:, :K + 1]
        x = self.table[signer[:, None], chosen]  # (n, K+1, D)
        a = self.means[signer]
        b = unit(self.centres[signer] + self.beta * unit(rng.standard_normal(a.shape)))
        s = a + b
        ax, sx = np.einsum("nd,nkd->nk", a, x), np.einsum("nd,nkd->nk", s, x)
        c = np.einsum("nd,nd->n", a, b)
        rotated = x - s[:, None, :] * (sx / (1.0 + c[:, None]))[:, :, None] + 2.0 * b[:, None, :] * ax[:, :, None]
        rotated = rotated.astype(np.float32)
        return rotated[:, :K], rotated[:, K]


def build_database(path: Path, card: ModelCard, n: int, synth: Synthesizer, real: list[np.ndarray],
                   names: list[str]) -> None:
    """The real signers (first 5 genuine) and n - len(real) synthetic subjects, written with enroll_bulk."""
    def part(refs: np.ndarray, sid: str) -> list[EnrollmentPart]:
        samples = tuple(SampleIn(data=f"{sid}:{i}".encode(), media_type="application/x-bench", meta={})
                        for i in range(len(refs)))
        return [EnrollmentPart(modality=SIG, model_id=card.model_id, samples=samples, embeddings=refs)]

    partial = path.with_suffix(".partial")
    for leftover in partial.parent.glob(partial.name + "*"):
        leftover.unlink()
    with SqliteStore(partial) as store:
        store.enroll_bulk([(f"real:{name}", part(e[:K], f"real:{name}")) for name, e in zip(names, real, strict=True)])
        t0, done, total = time.perf_counter(), 0, n - len(real)
        while done < total:
            size = min(2000, total - done)
            refs, _ = synth.batch(done, size)
            store.enroll_bulk([(f"syn{done + i:07d}", part(refs[i], f"syn{done + i:07d}")) for i in range(size)])
            done += size
            if done % 50_000 < size:
                print(f"  ... {done:,} of {total:,} synthetic subjects written ({time.perf_counter() - t0:.0f} s)",
                      flush=True)
    partial.rename(path)


def rss_mb() -> tuple[float, float]:
    """(resident, peak resident) MB of this process."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def read_bytes() -> int:
    """Bytes this process has had read from disk (not from the page cache)."""
    fields = dict(line.split(": ", 1) for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["read_bytes"])


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def race(methods: dict[str, Callable[[int], object]], n: int) -> dict[str, tuple[float, float, float]]:
    """p50, p99 of the wall time and p50 of the process's CPU time, in ms, of n calls fn(i) of each method, after
    one warm-up call each; the methods take turns, call by call (in a rotating order), so that a change in the
    machine's load falls on all of them alike. The CPU time is what a busy machine does not inflate (of one
    thread; a call on 2 threads counts both)."""
    names = list(methods)
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for name in names:
        methods[name](0)
    for i in range(n):
        for name in names[i % len(names):] + names[:i % len(names)]:
            t0, c0 = time.perf_counter(), time.process_time()
            methods[name](i)
            times[name].append((time.perf_counter() - t0) * 1e3)
            cpu[name].append((time.process_time() - c0) * 1e3)
    return {name: (float(np.percentile(t, 50)), float(np.percentile(t, 99)), float(np.percentile(cpu[name], 50)))
            for name, t in times.items()}


def blocks(index: GalleryIndex) -> Iterator[np.ndarray]:
    for group in index._groups.values():
        for _, view in group.refs.filled():
            yield view


def fmt(p: tuple[float, float, float], base: tuple[float, float, float] | None = None) -> str:
    ratio = "" if base is None else f" ({p[0] / base[0]:.2f}x FAISS; CPU {p[2] / base[2]:.2f}x)"
    return f"p50 {p[0]:8.2f} ms  p99 {p[1]:8.2f} ms  CPU p50 {p[2]:8.2f} ms{ratio}"


def run_size(n: int, args: argparse.Namespace, card: ModelCard, synth: Synthesizer, names: list[str],
             real: list[np.ndarray], probe_images: list[np.ndarray]) -> None:
    faiss = faiss_or_none()
    db = args.workdir / f"gallery-{n}-seed{args.seed}-{card.model_id}.db"
    if not db.exists():
        t0 = time.perf_counter()
        build_database(db, card, n, synth, real, names)
        print(f"  database written in {time.perf_counter() - t0:.0f} s")
    size_mb = sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1e6
    print(f"\n## {n:,} enrolled ({n - len(real):,} synthetic + {len(real)} real signers), {K} references each; "
          f"database {size_mb:,.0f} MB ({size_mb * 1e6 / n / 1e3:.1f} KB a subject with placeholder samples), "
          "written with the store's enroll_bulk (not the public API)")
    options = IndexOptions(backend=args.backend, threads=args.threads)
    with Biometrix(db, models_dir=models_dir(), prefer_gpu=False, index=options) as bx:
        bx.open()
        bx.card(SIG)  # the card, and faiss (imported above), are loaded before the memory is measured
        gc.collect()
        before, _ = rss_mb()
        reset_peak()
        t0, c0, io0 = time.perf_counter(), time.process_time(), read_bytes()
        bx.prepare_identify(SIG)
        build, cpu, io = time.perf_counter() - t0, time.process_time() - c0, read_bytes() - io0
        after, peak = rss_mb()
        index = bx._indexes.prepare(bx._db, bx.card(SIG))
        raw = index.n_references * index.dim * 4 / 1e6
        print(f"start-up build   {build:8.1f} s  ({cpu:.1f} s of CPU, {io / 1e9:.1f} GB read from disk, load average "
              f"{os.getloadavg()[0]:.1f}; {index.n_references / build / 1e3:,.0f}k references/s read, decrypted "
              f"and indexed; backend {index.backend}, {args.threads} thread(s))")
        if args.split_build:
            c0 = time.process_time()
            bx._db.read_gallery(modality=SIG, model_id=card.model_id, consume=lambda rows: None)
            print(f"  the store's read and decrypt alone (read again, nothing added): {time.process_time() - c0:.1f} s "
                  "of CPU")
        print(f"memory           index holds {index.nbytes / 1e6:,.0f} MB = {index.nbytes / 1e6 / raw:.2f}x the raw "
              f"float32 references ({raw:,.0f} MB); process RSS +{after - before:,.0f} MB "
              f"({(after - before) / raw:.2f}x), peak +{peak - before:,.0f} MB during the build")
        threshold = bx.threshold(SIG, capture="scan")
        # genuine probes of the first synthetic subjects (the first batch build_database wrote)
        probes = synth.batch(0, min(2000, n - len(real)))[1][:max(args.queries, args.recall_probes)]
        q = unit(probes.astype(np.float64)).astype(np.float32)
        if faiss is not None:
            ip = faiss.IndexFlatIP(index.dim)
            for view in blocks(index):
                ip.add(view)
            matrix = faiss.rev_swig_ptr(ip.get_xb(), ip.ntotal * index.dim).reshape(ip.ntotal, index.dim)
        else:
            matrix = np.concatenate(list(blocks(index)))
        scores = np.empty(len(matrix), np.float32)

        def brute(i: int) -> np.ndarray:
            np.dot(matrix, q[i % len(q)], out=scores)
            return np.argpartition(-scores, TOP_K * K)[:TOP_K * K]

        def flat(threads: int) -> Callable[[int], object]:
            def search(i: int) -> object:
                faiss.omp_set_num_threads(threads)
                return ip.search(q[i % len(q)][None], TOP_K * K)
            return search

        methods: dict[str, Callable[[int], object]] = {
            "api": lambda i: bx.identify(signature=probe_images[i % len(probe_images)], top_k=TOP_K),
            "index": lambda i: index.identify(probes[i % len(probes)], threshold, top_k=TOP_K),
            "numpy": brute}
        if faiss is not None:
            methods.update({"flat1": flat(1), "flat2": flat(2)})
        timings = race(methods, args.queries)
        top1 = sum(bx.identify(signature=img, top_k=1)[0].subject_id == f"real:{name}"
                   for name, img in zip(names, probe_images, strict=True))
        exact = [index.identify(p, threshold, top_k=1)[0].subject_id for p in probes[:args.recall_probes]]
    matrix = scores = ip = None  # free FAISS's copy before the HNSW graph is built
    base = timings.get("flat1")
    print(f"identify, public API (probe image embedded, searched, audited): {fmt(timings['api'], base)}; rank-1 of "
          f"the {len(names)} real signers' own probes: {top1}/{len(names)}")
    print(f"  index search alone (exact, Matcher re-scoring): {fmt(timings['index'], base)}")
    print(f"  numpy brute force (float32 gemv + argpartition): {fmt(timings['numpy'], base)}")
    for threads in (1, 2):
        if f"flat{threads}" in timings:
            print(f"  FAISS IndexFlatIP, {threads} thread(s):               {fmt(timings[f'flat{threads}'], base)}")
    if faiss is not None and n <= args.hnsw_max:
        hnsw_row(index, card, threshold, probes, exact, args)



def hnsw_row(exact_index: GalleryIndex, card: ModelCard, threshold: Threshold, probes: np.ndarray, exact: list[str],
             args: argparse.Namespace) -> None:
    hnsw = GalleryIndex(modality=SIG, model_id=card.model_id, distance=card.distance, aggregate=card.aggregate,
                        options=IndexOptions(search="hnsw", threads=args.threads))
    t0 = time.perf_counter()
    for k, group in exact_index._groups.items():
        for start, view in group.refs.filled():
            units = len(view) // k
            first = start // k
            hnsw.add(tuple(group.subject_ids[first:first + units]),
                     np.asarray(group.template_ids[first:first + units]), np.full(units, k), view)
    build = time.perf_counter() - t0
    graph = hnsw._hnsw.nbytes if hnsw._hnsw is not None else 0
    print(f"  HNSW option (M={hnsw.options.links}, efConstruction {hnsw.options.ef_construction}, "
          f"{hnsw.options.candidates} subjects re-scored): graph built in {build:.1f} s from memory, "
          f"{graph / 1e6:,.0f} MB beside the references")
    for ef in args.ef_search:
        assert hnsw._hnsw is not None
        hnsw._hnsw._ef_search = ef  # the same graph searched wider (IndexOptions.ef_search)
        lat = race({"hnsw": lambda i: hnsw.identify(probes[i % len(probes)], threshold, top_k=TOP_K)},
                   args.queries)["hnsw"]
        found = [hnsw.identify(p, threshold, top_k=1)[0].subject_id for p in probes[:len(exact)]]
        recall = float(np.mean([a == b for a, b in zip(found, exact, strict=True)]))
        print(f"    efSearch {ef:4d}: {fmt(lat)}; recall@1 against exact {recall:.3f} ({len(exact)} probes)")


def storage(args: argparse.Namespace) -> None:
    """Bytes a subject takes in the database, enrolled through the public API with 5 real references: the
    database's growth over an empty one, per subject, and the kept samples' share of it."""
    groups = {
        "CEDAR scans": [[img for r, img in iter_cedar(args.data, [s]) if r.genuine][:K] for s in HELDOUT["cedar"]],
        "Dutch scans": [[img for r, img in iter_sigcomp2011_dutch(args.data, [w]) if r.genuine][:K]
                        for w in HELDOUT[DUTCH]],
        "SVC2004 pen": [[st for r, st in iter_svc2004_strokes(args.data, [u]) if r.genuine][:K]
                        for u in HELDOUT["svc2004"]],
        "AT&T faces": [[np.repeat(g[:, :, None], 3, axis=2) for g in FaceSet("att", args.data, [s]).load_all()[:K]]
                       for s in SPLITS["att"]["heldout"]],
    }
    print(f"\n## bytes a subject with {K} references, enrolled through Biometrix.enroll (raw samples kept as "
          "biometrix.service.inputs.kept_sample keeps them)")
    for name, subjects in groups.items():
        db = args.workdir / f"storage-{name.split()[0].lower().replace('&', '')}-{name.split()[1]}.db"
        modality = Modality.FACE if "faces" in name else SIG
        for old in db.parent.glob(db.name + "*"):
            old.unlink()
        with Biometrix(db, models_dir=models_dir(), prefer_gpu=False) as bx:
            bx.open()
        empty = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
        kept = full = 0
        with Biometrix(db, models_dir=models_dir(), prefer_gpu=False) as bx:
            for i, refs in enumerate(subjects):
                if modality is SIG:
                    bx.enroll(f"s{i:03d}", signatures=refs)
                else:
                    bx.enroll(f"s{i:03d}", faces=refs)
                kept += sum(len(x.data) for x in bx._db.samples(f"s{i:03d}", modality=modality))
                full += sum(len(encode_png(r)) for r in refs if isinstance(r, np.ndarray))
        grown = sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) - empty
        n = len(subjects)
        was = f"; the samples as given, as PNG, would be {full / n / 1e3:.1f} KB" if full else ""
        print(f"  {name:12s} {n:3d} subjects: {grown / n / 1e3:5.1f} KB a subject (database growth / subjects), of "
              f"which kept samples {kept / n / 1e3:5.1f} KB ({kept / grown:.0%}){was}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="enrolled subjects, comma-separated")
    ap.add_argument("--queries", type=int, default=50, help="timed calls per figure")
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--workdir", type=Path, default=None, help="where the databases go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the databases for a later run")
    ap.add_argument("--backend", default="auto", choices=("auto", "faiss", "numpy"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hnsw-max", type=int, default=100_000, help="largest size the HNSW option is built at")
    ap.add_argument("--recall-probes", type=int, default=200, help="probes HNSW's recall@1 is measured on")
    ap.add_argument("--ef-search", default="64,128", help="HNSW efSearch values measured on the same graph")
    ap.add_argument("--no-storage", action="store_true", help="skip the bytes-a-subject measurement")
    ap.add_argument("--split-build", action="store_true",
                    help="read the gallery from the store again without indexing it: the build's store share")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    args.ef_search = [int(e) for e in args.ef_search.split(",")]
    temporary = args.workdir is None
    args.workdir = Path(tempfile.mkdtemp(prefix="identify-scale-")) if temporary else args.workdir
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("BIOMETRIX_KEY_DIR", str(args.workdir / "keys"))
    card = load_card_for(models_dir(), modality=SIG, prefer=PREFERRED_MODELS[SIG])
    pipe = SignaturePipeline(OnnxEncoder(card, card.onnx_path(models_dir()), prefer_gpu=False))
    t0 = time.perf_counter()
    names, images = real_signers(args.data)
    embedded = [pipe.embed_many(imgs) for imgs in images]
    synth = Synthesizer(embedded, args.seed)
    print(f"# identify_scale: {card.model_id} ({card.embedding_dim}-d, {card.aggregate} of {K} references, "
          f"{card.distance}); {len(names)} real held-out signers, {sum(len(e) for e in embedded):,} genuine "
          f"signatures embedded in {time.perf_counter() - t0:.0f} s; median distance between real signers "
          f"{synth.between:.4f} -> beta {synth.beta:.3f}; top_k {TOP_K}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    faiss = faiss_or_none()
    if faiss is not None:
        faiss.omp_set_num_threads(args.threads)
    print(f"threads: --threads {args.threads} (a search's blocks; FAISS's own OpenMP threads are set per call), "
          f"faiss.omp_get_max_threads() {faiss.omp_get_max_threads() if faiss is not None else 'n/a'}")
    try:
        if not args.no_storage:
            storage(args)
        for n in sizes:
            run_size(n, args, card, synth, names, embedded, [imgs[-1] for imgs in images])
    finally:
        if temporary and not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
