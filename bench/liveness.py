"""Liveness challenge on still photos: attack presentations accepted (APCER) and live presentations refused
(BPCER), with counts, as ISO/IEC 30107-3 names them, and the time the challenge takes.

NOT a certified presentation-attack detection evaluation: there is no video of real people or of real attacks
here. Live presentations are sequences of one AT&T subject's real photos in different poses, in the order the
challenge asks (the most frontal, the photo turned furthest to each asked side -- a side the subject never
turned to is their turned photo mirrored, if the mirror image still measures a turn of ``min_turn`` -- with
the frontal photo again between the turns), each held for
``--frames`` frames at 10 frames a second. Attack presentations are the subject's frontal photo moved, tilted,
scaled, turned in perspective, or turned and moved, across frames (``biometrix.evaluation.liveness``), as a
printed photo or a phone screen would be; every subject's most frontal photo is used, whether or not the
subject can make a live presentation. Each subject is presented with both orders (left first, right first).
The cuts (``LivenessConfig``) were chosen on AT&T s1-s10; s1-s30 (development) and s31-s40 (held out) are
reported apart. A subject whose photos hold no frontal photo or no turn of at least ``min_turn`` cannot make a
live presentation: counted apart, not as a BPCER error.

    python bench/liveness.py [--data ../shared/data] [--frames 6]
    python bench/liveness.py --residuals     # the development figures the cuts were chosen on

The time: frames the challenge took until its decision (at 10 frames a second, a customer's pace is not
measured here), and the computer's time per frame (face detection and the checks), single-threaded.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from biometrix.evaluation.datasets import default_data_root  # noqa: E402
from biometrix.evaluation.faces import FaceSet  # noqa: E402
from biometrix.evaluation.liveness import ATTACKS, attack_frames, live_frames, live_order  # noqa: E402
from biometrix.preprocess.face_detect import Detection, to_rgb  # noqa: E402
from biometrix.preprocess.liveness import Challenge, LivenessConfig, head_yaw, planar_residual, play  # noqa: E402
from biometrix.runtime.face_detector import make_detector  # noqa: E402
from biometrix.runtime.pipelines import find_faces  # noqa: E402

FPS = 10.0
ORDERS = (("left", "right"), ("right", "left"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--frames", type=int, default=6, help="frames each pose or movement step is held")
    ap.add_argument("--residuals", action="store_true",
                    help="print the planar residuals of real turns and of flat-picture frames on s1-s30 and stop")
    args = ap.parse_args()
    detector = make_detector("mtcnn")
    config = LivenessConfig()
    frame_times: list[float] = []

    def find_face(rgb: np.ndarray) -> Detection | None:
        t0 = time.perf_counter()
        found = find_faces(detector, to_rgb(rgb))
        frame_times.append(time.perf_counter() - t0)
        return max(found, key=lambda d: d.width * d.height) if found else None

    if args.residuals:
        return residuals(args.data, find_face, config)
    print(f"# liveness challenge, {config}; 10 frames a second, each pose held {args.frames} frames")
    print("# NOT a certified PAD evaluation: live = a subject's real photos in different poses, attack = one photo "
          "moved like a print or a screen")
    for name, subjects in (("development s1-s30", range(1, 31)), ("held out s31-s40", range(31, 41))):
        faces = FaceSet("att", args.data, tuple(subjects))
        images = [to_rgb(g) for g in faces.load_all()]
        by_subject: dict[str, list[int]] = {}
        for i, r in enumerate(faces.records):
            by_subject.setdefault(r.subject, []).append(i)
        live_refused, live_n, unpresentable, live_frames_used = 0, 0, 0, []
        reasons: Counter = Counter()
        attacks: dict[str, list[int]] = {k: [0, 0] for k in ATTACKS}  # accepted, presented
        for idx in by_subject.values():
            photos = [images[i] for i in idx]
            yaws = [head_yaw(d.landmarks5) if (d := find_face(p)) is not None else math.inf for p in photos]
            flipped = [head_yaw(d.landmarks5) if (d := find_face(np.ascontiguousarray(p[:, ::-1]))) is not None
                       else math.inf for p in photos]
            front = min(range(len(photos)), key=lambda i: abs(yaws[i]))
            for turns in ORDERS:
                challenge = Challenge(turns)
                order = live_order(yaws, challenge, config=config, mirrored=flipped)
                if order is None:
                    unpresentable += 1
                else:
                    result = play(live_frames(photos, order, frames_per_pose=args.frames), find_face, challenge,
                                  fps=FPS, config=config).result
                    live_n += 1
                    live_refused += not result.passed
                    if result.passed:
                        live_frames_used.append(result.frames)
                    else:
                        reasons[result.reason] += 1
                if not math.isfinite(yaws[front]):
                    continue
                for kind in ATTACKS:  # every subject's most frontal photo, whether or not it can turn
                    frames = attack_frames(photos[front], kind, challenge, frames_per_turn=args.frames)
                    attack = play(frames, find_face, challenge, fps=FPS, config=config).result
                    attacks[kind][0] += attack.passed
                    attacks[kind][1] += 1
        print(f"\n## AT&T {name}: {len(by_subject)} subjects x 2 orders")
        print(f"BPCER {100 * live_refused / max(live_n, 1):5.2f} % ({live_refused} of {live_n} live presentations "
              f"refused{': ' + ', '.join(f'{k} {v}' for k, v in reasons.items()) if reasons else ''}); "
              f"{unpresentable} presentations impossible (no frontal photo or no turn >= {config.min_turn})")
        worst = max(a / max(n, 1) for a, n in attacks.values())
        for kind, (accepted, n) in attacks.items():
            print(f"APCER {kind:17s} {100 * accepted / max(n, 1):5.2f} % ({accepted} of {n} attack presentations "
                  f"accepted)")
        print(f"APCER, worst attack species: {100 * worst:.2f} %")
        if live_frames_used:
            f = np.asarray(live_frames_used)
            print(f"challenge length (passed live): median {np.median(f) / FPS:.1f} s of frames "
                  f"({np.median(f):.0f} frames; max {f.max() / FPS:.1f} s); limit {config.time_limit_s:g} s")
    t = np.asarray(frame_times)
    print(f"\n# computer time per frame (detection + checks), 1 thread: median {1000 * np.median(t):.1f} ms, "
          f"p95 {1000 * np.percentile(t, 95):.1f} ms over {len(t)} frames")
    return 0


def residuals(data: Path, find_face, config: LivenessConfig) -> int:
    """Development subjects s1-s30: the planar residual against the subject's most frontal photo of each real
    turn of at least ``min_turn`` (photos and mirror images), and the yaw and residual of every frame of the
    flat-picture attacks on that photo."""
    faces = FaceSet("att", data, tuple(range(1, 31)))
    images = [to_rgb(g) for g in faces.load_all()]
    live, flat = [], []
    for s in range(0, len(images), 10):
        photos = images[s:s + 10]
        found = [find_face(p) for p in photos]
        yaws = [head_yaw(d.landmarks5) if d is not None else math.inf for d in found]
        front = min(range(10), key=lambda i: abs(yaws[i]))
        ref = found[front]
        if ref is None or abs(yaws[front]) > config.frontal:
            continue
        for i, p in enumerate(photos):
            for d in (found[i], find_face(np.ascontiguousarray(p[:, ::-1]))):
                if i != front and d is not None and abs(head_yaw(d.landmarks5)) >= config.min_turn:
                    live.append(planar_residual(ref.landmarks5, d.landmarks5))
        for kind in ATTACKS:
            for frame in attack_frames(photos[front], kind, Challenge(("left", "right")))[6:]:
                d = find_face(frame)
                if d is not None:
                    flat.append((head_yaw(d.landmarks5), planar_residual(ref.landmarks5, d.landmarks5)))
    lv, fy, fr = np.asarray(live), np.abs([y for y, _ in flat]), np.asarray([r for _, r in flat])
    print(f"real turns of |yaw| >= {config.min_turn}: {len(lv)}, planar residual min {lv.min():.3f}, "
          f"median {np.median(lv):.3f}")
    print(f"flat-picture frames: {len(fr)}, planar residual max {fr.max():.3f}, median {np.median(fr):.3f}; "
          f"|yaw| max {fy.max():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
