"""Calibrate the face quality gate on matching (ISO/IEC 29794-5's idea: a quality score should predict matching
error) and write the cuts and their evidence into the face model's card.

Development subjects only (EVALUATION.md: AT&T s1-s30, Extended Yale B 01-28; the held-out subjects are not
read). Every photo goes through the app's own FacePipeline with the gate open (every cut off), so each probe
has its quality measures and its embedding; references are each subject's protocol references, unaltered.
For the checks the data sets do not vary on their own, degraded copies of probes are added: Gaussian blur
(sigma 1, 2 and 3 px), smaller faces (scaled to 0.5, 0.35, 0.25), darker and burnt-out exposure (grey levels
x 0.35 and x 0.2; x 1.8 and x 2.6, clipped) and in-plane rotation (30 and 45 degrees) of AT&T's probes and of
every fourth Yale B probe lit within 50 degrees of the camera axis. Yale B's lighting and AT&T's poses vary
by themselves.

For each check, the probes (unaltered and that check's degraded copies; head turn on AT&T alone, as Yale B's
heads do not turn) are sorted from the best score to the
worst. Each probe's *excess* is 1 if its genuine distance is over the operating threshold (the card's default)
minus its set's FNMR in good conditions (AT&T: all unaltered probes; Yale B: unaltered probes lit within 25
degrees). Walking up from the worst score, windows of ``--window`` consecutive probes are refused while their
mean excess is over ``--delta``; the cut is the worst score of the first window that is not: below it,
accepting worse faces would raise FNMR at the operating threshold by more than delta. (Walking down from the
best score instead stops at any bad window among good faces: Yale B's few mis-detected, huge "faces" match
badly whatever their size.) When even the worst window is within delta, the cut is the worst score measured.
Each check's evidence (per score band: probes, FNMR, and FMR of their impostor comparisons) goes into the card
with the cut.

    python bench/face_quality_calibration.py [--data ../shared/data] [--cache /tmp/biometrix-face-quality]
        [--delta 0.1] [--window 40] [--write]

Embeddings are cached per set and degradation in ``--cache`` (outside the repository), so a rerun only scores.
Without ``--write`` it prints the cuts and the development figures and writes nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from biometrix.core.metrics import eer  # noqa: E402
from biometrix.core.types import Modality  # noqa: E402
from biometrix.evaluation.datasets import default_data_root  # noqa: E402
from biometrix.evaluation.faces import SPLITS, FaceSet, light_angle  # noqa: E402
from biometrix.preprocess.face_detect import to_rgb  # noqa: E402
from biometrix.preprocess.quality import QualityCuts, face_quality  # noqa: E402
from biometrix.runtime.encoder import OnnxEncoder  # noqa: E402
from biometrix.runtime.face_detector import make_detector  # noqa: E402
from biometrix.runtime.model_card import PREFERRED_MODELS, ModelCard, load_card_for  # noqa: E402
from biometrix.runtime.paths import models_dir  # noqa: E402
from biometrix.runtime.pipelines import FacePipeline, find_faces  # noqa: E402

MEASURES = ("face_size", "sharpness", "dark", "bright", "yaw", "roll")
#: check -> (the measure it reads, +1 when higher is better, the cut's field in QualityCuts, its degradations,
#: the sets whose probes it is calibrated on). Head turn (yaw) on AT&T only: Yale B's heads all face the camera,
#: and its "yaw" only measures landmarks pulled by shadows.
CHECKS: dict[str, tuple[str, int, str, tuple[str, ...], tuple[str, ...]]] = {
    "size": ("face_size", +1, "min_face", ("scale0.5", "scale0.35", "scale0.25"), ("att", "yaleb")),
    "blur": ("sharpness", +1, "min_sharpness", ("blur1", "blur2", "blur3"), ("att", "yaleb")),
    "dark": ("dark", -1, "max_dark", ("gain0.35", "gain0.2"), ("att", "yaleb")),
    "bright": ("bright", -1, "max_bright", ("gain1.8", "gain2.6"), ("att", "yaleb")),
    "yaw": ("abs_yaw", -1, "max_yaw", (), ("att",)),
    "roll": ("abs_roll", -1, "max_roll", ("rot30", "rot45"), ("att", "yaleb")),
}
OPEN = QualityCuts(min_face=0, min_sharpness=0, max_dark=1, max_bright=1, max_yaw=1e9, max_roll=180)


def degrade(gray: np.ndarray, how: str) -> np.ndarray:
    """A degraded copy of a grey photo, by name (see the module docstring)."""
    if how == "none":
        return gray
    if how.startswith("blur"):
        return cv2.GaussianBlur(gray, (0, 0), float(how[4:]))
    if how.startswith("scale"):
        return cv2.resize(gray, None, fx=float(how[5:]), fy=float(how[5:]), interpolation=cv2.INTER_AREA)
    if how.startswith("gain"):
        return np.clip(gray.astype(np.float32) * float(how[4:]), 0, 255).astype(np.uint8)
    if how.startswith("rot"):
        h, w = gray.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), float(how[3:]), 1.0)
        return cv2.warpAffine(gray, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    raise ValueError(how)


def observe(pipe: FacePipeline, gray: np.ndarray) -> tuple[dict[str, float] | None, np.ndarray | None]:
    """The quality measures and embedding of one photo through the pipeline with the gate open."""
    rgb = to_rgb(gray)
    found = find_faces(pipe.detector, rgb)
    if not found:
        return None, None
    report = face_quality(rgb, found, cuts=OPEN)
    subject = max(found, key=lambda d: d.width * d.height)
    return report.measures, pipe.embed_chips([pipe.chip(rgb, subject)])[0]


def cached(cache: Path, pipe: FacePipeline, faces: FaceSet, images: list[np.ndarray], rows: list[int], how: str
           ) -> dict[str, np.ndarray]:
    """``run_set``'s result, from ``cache`` when it was computed before."""
    path = cache / f"{faces.source}-{how}.npz"
    if path.is_file():
        with np.load(path) as z:
            return dict(z)
    data = run_set(pipe, faces, images, rows, how)
    np.savez(path, **data)
    return data


def run_set(pipe: FacePipeline, faces: FaceSet, images: list[np.ndarray], rows: list[int], how: str
            ) -> dict[str, np.ndarray]:
    meas = np.full((len(rows), len(MEASURES)), np.nan)
    embs = np.full((len(rows), pipe.card.embedding_dim), np.nan, dtype=np.float32)
    t0 = time.perf_counter()
    for k, i in enumerate(rows):
        m, e = observe(pipe, degrade(images[i], how))
        if m is not None and e is not None:
            meas[k] = [m[name] for name in MEASURES]
            embs[k] = e
    print(f"#   {faces.source} {how}: {len(rows)} photos, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return {"rows": np.asarray(rows), "measures": meas, "embeddings": embs}


def distances(embs: np.ndarray, templates: dict[str, np.ndarray], subjects: list[str]) -> np.ndarray:
    """(N, S) mean cosine distance of each embedding to each subject's references (nan where not acquired)."""
    e = embs / np.linalg.norm(embs, axis=1, keepdims=True)
    return np.stack([np.mean(1 - e @ templates[s].T, axis=1) for s in subjects], axis=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--cache", type=Path, default=Path("/tmp/biometrix-face-quality"))
    ap.add_argument("--delta", type=float, default=0.1)
    ap.add_argument("--window", type=int, default=40)
    ap.add_argument("--write", action="store_true", help="write the cuts and evidence into the face card")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    folder = models_dir()
    card = load_card_for(folder, model_id=PREFERRED_MODELS[Modality.FACE], modality=Modality.FACE)
    pipe = FacePipeline(OnnxEncoder(card, card.onnx_path(folder), prefer_gpu=False, intra_op_threads=1),
                        make_detector("mtcnn"))
    threshold = card.default_threshold().value
    obs: list[dict] = []  # one per probe observation
    for source in ("att", "yaleb"):
        subjects_n = SPLITS[source]["train"] + SPLITS[source]["validation"]
        faces = FaceSet(source, args.data, subjects_n)
        images = faces.load_all()
        recs = faces.records
        angles = [light_angle(r.member) for r in recs]
        base = cached(args.cache, pipe, faces, images, list(range(len(recs))), "none")
        subjects = list(faces.subjects)
        templates = {}
        for s in subjects:
            refs = [i for i, r in enumerate(recs) if r.subject == s and r.is_reference
                    and np.isfinite(base["embeddings"][i]).all()]
            e = base["embeddings"][refs]
            templates[s] = e / np.linalg.norm(e, axis=1, keepdims=True)
        probes = [i for i, r in enumerate(recs) if not r.is_reference]
        some = [i for i in probes if angles[i] <= 50][::4] if source == "yaleb" else probes
        runs = {"none": base}
        for how in sorted({d for _, _, _, ds, _ in CHECKS.values() for d in ds}):
            runs[how] = cached(args.cache, pipe, faces, images, some, how)
        for how, data in runs.items():
            rows = data["rows"]
            ok = np.isfinite(data["embeddings"]).all(axis=1)
            d = np.full((len(rows), len(subjects)), np.nan)
            if ok.any():
                d[ok] = distances(data["embeddings"][ok], templates, subjects)
            for k, i in enumerate(rows):
                if recs[i].is_reference:
                    continue
                own = subjects.index(recs[i].subject)
                m = dict(zip(MEASURES, data["measures"][k], strict=True))
                m.update(abs_yaw=abs(m["yaw"]), abs_roll=abs(m["roll"]))
                obs.append({"set": source, "how": how, "angle": angles[i], "acquired": bool(ok[k]), **m,
                            "genuine": d[k, own], "impostor": np.delete(d[k], own)})
    good = {s: np.mean([o["genuine"] > threshold for o in obs if o["set"] == s and o["how"] == "none"
                        and o["acquired"] and o["angle"] <= 25]) for s in ("att", "yaleb")}
    print(f"# operating threshold {threshold:.6f} (the card's default); FNMR in good conditions: "
          f"AT&T {100 * good['att']:.2f} %, Yale B (lit within 25 degrees) {100 * good['yaleb']:.2f} %")
    cuts, evidence = {}, {}
    for check, (measure, sign, field, hows, sets) in CHECKS.items():
        sel = [o for o in obs if o["acquired"] and o["how"] in ("none", *hows) and o["set"] in sets
               and math.isfinite(o[measure])]
        sel.sort(key=lambda o: -sign * o[measure])
        excess = np.array([(o["genuine"] > threshold) - good[o["set"]] for o in sel])
        score = np.array([o[measure] for o in sel])
        w = args.window
        # from the worst score up: the faces refused are the run of windows, starting at the worst, whose FNMR
        # excess is over delta; the cut is the worst score of the first window that is not
        cut, where = score[-1], "the worst window is not over delta: nothing measured is refused"
        for end in range(len(sel), w - 1, -1):
            window = excess[end - w:end]
            if window.mean() <= args.delta:
                if end < len(sel):
                    cut = score[end - 1]
                    where = (f"the {len(sel) - end} worst probes (from {score[-1]:.4g}) are in windows of {w} "
                             f"with FNMR excess over {args.delta}; the window from {score[end - w]:.4g} to "
                             f"{score[end - 1]:.4g} has {window.mean():.3f}")
                break
        else:
            cut, where = score[w - 1], "every window is over delta"
        cuts[field] = round(float(cut), 4)
        evidence[check] = {"measure": measure, "cut": cuts[field], "why": where, "probes": len(sel),
                           "bands": bands(sel, measure, sign, threshold)}
        print(f"{check:6s} {field:14s} cut {cuts[field]:<9.4g} ({where}; {len(sel)} probes)")
    for name, keep in (("Yale B lit within 25 deg", lambda o: o["set"] == "yaleb" and o["angle"] <= 25),
                       ("Yale B lit beyond 90 deg", lambda o: o["set"] == "yaleb" and o["angle"] > 90),
                       ("AT&T", lambda o: o["set"] == "att"), ("AT&T blur1", None), ("AT&T blur2", None)):
        how = name.split()[-1] if keep is None else "none"
        sel = [o["sharpness"] for o in obs if o["acquired"] and o["how"] == how
               and (keep(o) if keep is not None else o["set"] == "att")]
        print(f"# sharpness, {name if keep is not None else 'AT&T, ' + how}: median {np.median(sel):.3f} "
              f"({len(sel)} probes)")
    final = QualityCuts(**{**QualityCuts().to_dict(), **cuts})
    figures = dev_figures(obs, final, threshold)
    for line in figures:
        print(line)
    if args.write:
        raw = card.to_dict()
        raw["preprocessing"]["quality"] = {
            "cuts": final.to_dict(),
            "method": (f"ISO/IEC 29794-5's idea: each cut where accepting worse faces raises FNMR at the operating "
                       f"threshold {threshold:.6f} by more than {args.delta} over the set's FNMR in good "
                       f"conditions (AT&T {good['att']:.4f}, Yale B lit within 25 degrees {good['yaleb']:.4f}), "
                       f"over windows of {args.window} probes; development subjects only (AT&T s1-s30, "
                       "Extended Yale B 01-28), with degraded copies of probes for blur, size, exposure and roll"),
            "command": "python bench/face_quality_calibration.py --write",
            "evidence": evidence,
            "development": figures,
        }
        path = folder / f"{card.model_id}.json"
        ModelCard.from_dict(raw, source=str(path)).save(path)
        print(f"# wrote {path}")
    return 0


def bands(sel: list[dict], measure: str, sign: int, threshold: float) -> list[dict]:
    """The evidence of one check: its probes in ten bands of equal count, best first."""
    out = []
    for part in np.array_split(np.arange(len(sel)), 10):
        if not len(part):
            continue
        group = [sel[i] for i in part]
        imp = np.concatenate([o["impostor"] for o in group])
        out.append({"from": round(float(group[0][measure]), 4), "to": round(float(group[-1][measure]), 4),
                    "probes": len(group), "fnmr": round(float(np.mean([o["genuine"] > threshold for o in group])), 4),
                    "fmr": round(float(np.mean(imp <= threshold)), 4), "impostor": int(imp.size)})
    return out


def passes(o: dict, c: QualityCuts) -> bool:
    return (o["acquired"] and o["face_size"] >= c.min_face and o["sharpness"] >= c.min_sharpness
            and o["dark"] <= c.max_dark and o["bright"] <= c.max_bright and o["abs_yaw"] <= c.max_yaw
            and o["abs_roll"] <= c.max_roll)


def dev_figures(obs: list[dict], cuts: QualityCuts, threshold: float) -> list[str]:
    """FTA and EER (failures to acquire as rejections, and on the acquired alone) of the unaltered development
    probes under ``cuts``, per set and lighting band."""
    lines = []
    for source, lo, hi in (("att", 0, 180), ("yaleb", 0, 50), ("yaleb", 50, 180), ("yaleb", 0, 180)):
        sel = [o for o in obs if o["set"] == source and o["how"] == "none" and lo <= o["angle"] <= hi]
        ok = [passes(o, cuts) for o in sel]
        g = np.array([o["genuine"] if k else 1e9 for o, k in zip(sel, ok, strict=True)])
        imp = np.concatenate([o["impostor"] if k else np.full(o["impostor"].size, 1e9)
                              for o, k in zip(sel, ok, strict=True)])
        ga, ia = g[g < 1e9], imp[imp < 1e9]
        e_all = eer(genuine=g, impostor=imp).eer
        e_acq = eer(genuine=ga, impostor=ia).eer if len(ga) and len(ia) else float("nan")
        lines.append(f"development {source} lit {lo}-{hi} deg: FTA {len(sel) - sum(ok)}/{len(sel)} "
                     f"({100 * (1 - np.mean(ok)):.1f} %), EER with FTA as rejections {100 * e_all:.2f} %, "
                     f"EER on acquired {100 * e_acq:.2f} % ({len(ga)} genuine / {len(ia)} impostor)")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
