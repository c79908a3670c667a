"""Issue 27 part 1 on a device machine: the planned fold runs, by priority, as parallel ``biometrix train``
processes sharing the GPU within a wall-clock budget; the results packed into at most 8 files under ``--out``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "biometrix" / "training" / "configs" / "issue27"
#: The plan's waves (docs/signature-experiments.md, issue 27 part 1), in priority order.
WAVES = (("cv_control_w16", "cv_dutch_w16"), ("cv_control_w24", "cv_dutch_w24"),
         ("cv_dutch_128x256_w16", "cv_dutch_128x256_w24"), ("cv_dutch_wd1_w16", "cv_dutch_wd1_w24"))
FOLDS = 3
#: Each arm's two-width ensemble, as the plan's rule scores it (cv_posthoc.py --ensemble).
ARMS = {"control": ("cv_control_w16", "cv_control_w24"), "dutch": ("cv_dutch_w16", "cv_dutch_w24"),
        "dutch_128x256": ("cv_dutch_128x256_w16", "cv_dutch_128x256_w24"),
        "dutch_wd1": ("cv_dutch_wd1_w16", "cv_dutch_wd1_w24")}
#: $OUT brings back 8 files of at most 16 MiB: summary.json, runs.tar.gz (no checkpoints), and checkpoint parts.
PART_BYTES = 15 * 2**20
MAX_PARTS = 3


@dataclasses.dataclass(frozen=True)
class Job:
    """One fold run: a config of the plan, a seed and a fold."""

    config: str
    seed: int
    fold: int

    @property
    def name(self) -> str:
        return f"{self.config}_s{self.seed}_f{self.fold}"


def plan(waves: list[int], seeds: list[int], folds: list[int]) -> list[Job]:
    """The jobs of the chosen waves in priority order: each wave's seeds, folds, then its configs."""
    return [Job(c, s, f) for w in waves for s in seeds for f in folds for c in WAVES[w - 1]]


def derived_config(job: Job, *, data: str, threads: int, minutes: float, smoke: bool, work: Path) -> Path:
    """A copy of the plan's config for this machine: the staged data root, the threads, a wall-clock budget
    (``max_minutes``; an epoch in flight finishes), and in a smoke run 1 epoch of 2 batches in runs/smoke_*."""
    cfg = json.loads((CONFIGS / f"{job.config}.json").read_text())
    cfg.update(data_root=data, threads=threads, max_minutes=round(max(minutes, 0.05), 2))
    if smoke:
        cfg.update(epochs=1, batches_per_epoch=2, out_dir=cfg["out_dir"].replace("runs/", "runs/smoke_", 1))
    path = work / f"{job.name}.json"
    path.write_text(json.dumps(cfg, indent=2))
    return path


def run(args: argparse.Namespace) -> int:
    """Run the jobs ``--parallel`` at a time until the budget; pack the results; print one line per job."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = REPO / "runs" / ("smoke_device" if args.smoke else "device")
    work.mkdir(parents=True, exist_ok=True)
    jobs = [j for j in plan(args.waves, args.seeds, args.folds) if not args.only or j.config in args.only]
    start = time.monotonic()
    deadline = start + 60 * args.budget_min
    pending, running, done = list(jobs), [], []
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    while pending or running:
        now = time.monotonic()
        while pending and len(running) < args.parallel and deadline - now > 60 * args.min_start_min:
            job = pending.pop(0)
            cfg = derived_config(job, data=args.data, threads=args.threads, minutes=(deadline - now) / 60 - 0.75,
                                 smoke=args.smoke, work=work)
            cmd = [sys.executable, "-m", "biometrix", "train", "--config", str(cfg), "--folds", str(FOLDS),
                   "--fold", str(job.fold), "--seed", str(job.seed), "--device", args.device,
                   "--num-workers", str(args.workers)] + (["--amp"] if args.amp else [])
            log = (work / f"{job.name}.log").open("w")
            running.append((job, subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT),
                            time.monotonic(), log))
            print(f"[{(time.monotonic() - start) / 60:5.2f} min] start {job.name}", flush=True)
        if not pending or len(running) >= args.parallel or deadline - now <= 60 * args.min_start_min:
            time.sleep(0.5)
        for item in list(running):
            job, proc, t0, log = item
            late = time.monotonic() > deadline + 30
            if proc.poll() is None and not late:
                continue
            if proc.poll() is None:
                proc.kill()  # past the budget: its last.pt (finished epochs) resumes it later
            rc = proc.wait()
            log.close()
            running.remove(item)
            done.append({"job": job.name, "rc": rc, "minutes": round((time.monotonic() - t0) / 60, 2),
                         "killed": late, **epochs_of(job, smoke=args.smoke)})
            print(f"[{(time.monotonic() - start) / 60:5.2f} min] done {job.name} rc {rc} "
                  f"epochs {done[-1]['epochs_done']}", flush=True)
        if not running and pending and deadline - time.monotonic() <= 60 * args.min_start_min:
            break
    scored = posthoc(args, work=work, deadline=start + 60 * (args.budget_min + args.posthoc_min))
    summary = {"jobs": done, "not_started": [j.name for j in pending], "posthoc": scored,
               "minutes": (time.monotonic() - start) / 60, "device": device_record(), "args": vars(args)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    pack(out, smoke=args.smoke, work=work)
    print(f"{len(done)} fold runs in {summary['minutes']:.2f} min ({sum(d['rc'] == 0 for d in done)} finished "
          f"cleanly), {len(pending)} not started; results in {out}")
    return 0 if all(d["rc"] == 0 for d in done) else 1


def posthoc(args: argparse.Namespace, *, work: Path, deadline: float) -> list[str]:
    """Score each arm's two-width ensemble at the final epoch (``cv_posthoc.py --methods epoch ens``), for every
    seed whose six fold runs finished, here where the checkpoints are (not all of them fit $OUT); the output goes
    to ``<work>/posthoc_<arm>_s<seed>.log`` (in runs.tar.gz). Returns the logs written."""
    ready = []
    for arm, (w16, w24) in ARMS.items():
        for seed in args.seeds:
            runs = [run_dir(Job(c, seed, 1), smoke=args.smoke).parent for c in (w16, w24)]
            cfg = json.loads((CONFIGS / f"{w16}.json").read_text())
            epoch = 1 if args.smoke else cfg["epochs"]
            if all((r / f"fold{f}of{FOLDS}" / f"epoch_{epoch:03d}.pt").is_file() for r in runs
                   for f in range(1, FOLDS + 1)):
                ready.append((f"posthoc_{arm}_s{seed}", runs, epoch))
    threads = str(max(1, (os.cpu_count() or 1) // max(len(ready), 1)))  # the machine's cores shared among them
    env = {**os.environ, "OMP_NUM_THREADS": threads, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    procs = []
    for name, (a, b), epoch in ready:
        cmd = [sys.executable, "bench/research/cv_posthoc.py", "--run", str(a), "--ensemble", str(b),
               "--folds", str(FOLDS), "--epoch", str(epoch), "--methods", "epoch", "ens", "--data", args.data,
               "--threads", threads]
        log = (work / f"{name}.log").open("w")
        procs.append((name, subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    written = []
    for name, proc, log in procs:
        try:
            rc = proc.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        log.close()
        print(f"{name}: cv_posthoc exit {rc}", flush=True)
        written.append(f"{name} (exit {rc})")
    return written


def run_dir(job: Job, *, smoke: bool) -> Path:
    out_dir = json.loads((CONFIGS / f"{job.config}.json").read_text())["out_dir"]
    if smoke:
        out_dir = out_dir.replace("runs/", "runs/smoke_", 1)
    return REPO / f"{out_dir}_s{job.seed}" / f"fold{job.fold}of{FOLDS}"


def epochs_of(job: Job, *, smoke: bool) -> dict[str, object]:
    """How far a fold run got (its history.json) and the device it recorded."""
    folder = run_dir(job, smoke=smoke)
    history = json.loads((folder / "history.json").read_text()) if (folder / "history.json").is_file() else []
    device = json.loads((folder / "device.json").read_text()) if (folder / "device.json").is_file() else {}
    return {"epochs_done": len(history), "last_val_metric": history[-1]["val_metric"] if history else None,
            "device": device.get("name")}


def device_record() -> dict[str, object]:
    import torch

    cuda = torch.cuda.is_available()
    return {"torch": torch.__version__, "cuda": cuda, "name": torch.cuda.get_device_name(0) if cuda else "cpu"}


def pack(out: Path, *, smoke: bool, work: Path) -> None:
    """runs.tar.gz: every run folder's JSON files and the logs; ckpt.tar.gz.NN: one checkpoint per fold run (see
    ``checkpoint_to_keep``) in parts of 15 MiB (cat them back together; 3 at most: $OUT returns 64 MiB in all)."""
    prefix = "smoke_issue27_" if smoke else "issue27_"
    folders = sorted(p for p in (REPO / "runs").glob(f"{prefix}*") if p.is_dir())
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        for folder in folders:
            for f in sorted(folder.rglob("*.json")):
                tar.add(f, arcname=str(f.relative_to(REPO)))
        for f in sorted(work.glob("*.log")):
            tar.add(f, arcname=str(f.relative_to(REPO)))
    ckpt = work / "ckpt.tar.gz"
    with tarfile.open(ckpt, "w:gz") as tar:
        for folder in folders:
            for fold in sorted(p for p in folder.glob("fold*") if p.is_dir()):
                f = checkpoint_to_keep(fold)
                if f is not None:
                    tar.add(f, arcname=str(f.relative_to(REPO)))
    data = ckpt.read_bytes()
    parts = [data[i:i + PART_BYTES] for i in range(0, len(data), PART_BYTES)]
    for n, part in enumerate(parts[:MAX_PARTS]):
        (out / f"ckpt.tar.gz.{n:02d}").write_bytes(part)
    if len(parts) > MAX_PARTS:
        print(f"checkpoints: {len(data) / 2**20:.1f} MiB, only the first {MAX_PARTS} parts fit $OUT", file=sys.stderr)


def checkpoint_to_keep(fold: Path) -> Path | None:
    """A finished fold run's final-epoch weights (what cv_posthoc scores), an unfinished one's last.pt (to resume)."""
    if not (fold / "config.json").is_file():
        return None
    epochs = json.loads((fold / "config.json").read_text())["epochs"]
    final = fold / f"epoch_{epochs:03d}.pt"
    return final if final.is_file() else (fold / "last.pt" if (fold / "last.pt").is_file() else None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.environ.get("OUT") or str(REPO / "bench" / "out" / "device"))
    ap.add_argument("--data", default=".device-data", help="the staged data root (bench/device/stage_data.sh)")
    ap.add_argument("--budget-min", type=float, default=7.0, help="wall-clock budget of the training runs")
    ap.add_argument("--posthoc-min", type=float, default=1.75, help="then this long for the ensembles' scoring")
    ap.add_argument("--min-start-min", type=float, default=1.5, help="start no job with less than this left")
    ap.add_argument("--parallel", type=int, default=12, help="fold runs at a time (processes sharing the GPU)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per fold run")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers per fold run")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA)")
    ap.add_argument("--waves", type=int, nargs="+", default=[1, 2, 3, 4], choices=[1, 2, 3, 4])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--folds", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    ap.add_argument("--only", nargs="+", default=[], metavar="CONFIG",
                    help="run only these configs of the chosen waves (e.g. cv_control_w16 cv_control_w24)")
    ap.add_argument("--smoke", action="store_true", help="1 epoch of 2 batches per run, in runs/smoke_* (a dry run)")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
