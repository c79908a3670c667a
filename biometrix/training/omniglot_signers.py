"""Pseudo-signers written with Omniglot's pen strokes: many hands copying the same characters (training only).

The signature data sets hold 75 development subjects, and cross-validation says fewer training identities cost
CEDAR skilled-forgery EER (docs/signature-experiments.md, "Fewer identities cost more than seed noise"). Omniglot
holds 242 characters, each copied from one printed model by 20 people, recorded as pen trajectories: the same
content in 20 hands, which is what a skilled forgery is. A pseudo-signer is a short "name" (2 to 4 characters of
one alphabet, laid out by the name's own template: sizes, gaps, baseline shifts, a slant) in one drawer's hand:

- its genuine samples are that drawer's strokes, each time with small new changes of the layout and a smooth
  random displacement along every stroke (nobody draws a stroke the same way twice);
- its skilled forgeries are the same name with the same template and the same kind of changes, in other
  drawers' hands.

What tells a genuine sample from a forgery is then only the hand, as with a real skilled forgery; the variation
among genuine samples is synthetic. The strokes are drawn by the app's one renderer (``capture.pen.rasterize``,
as SVC2004's recordings are; Omniglot records no pressure, so each stroke gets a smooth random one that belongs
to no hand) and cropped by ``ink_mask`` as the real loaders do. Subjects are numbered 1..n in source
``omniglot``.
"""

from __future__ import annotations

import zipfile
from collections import defaultdict
from pathlib import Path, PurePosixPath

import numpy as np

from biometrix.capture.pen import PenPoint, Stroke, rasterize
from biometrix.core.errors import InvalidInput
from biometrix.evaluation.omniglot import default_omniglot_root, drawer_of
from biometrix.preprocess.signature import ink_mask
from biometrix.training.data import SignatureSample

SOURCE = "omniglot"
STROKE_ZIPS = ("strokes_background_small1.zip", "strokes_background_small2.zip")
#: Samples made per pseudo-signer (the batch sampler draws from these and augments each draw).
GENUINE_PER_SIGNER = 12
FORGERIES_PER_SIGNER = 6
#: Characters per name, inclusive.
NAME_LENGTH = (2, 4)

#: One character: its strokes, each an (n, 2) array of x, y (y growing downwards).
Character = list[np.ndarray]


def parse_strokes(text: str, *, name: str = "<omniglot>") -> Character:
    """An Omniglot stroke file (``START``, then ``x,y,t`` lines with a ``BREAK`` after each stroke; y grows
    upwards) -> its strokes as (n, 2) arrays with y growing downwards. Strokes of fewer than 1 point are dropped."""
    strokes: Character = []
    points: list[tuple[float, float]] = []
    for line in text.splitlines():
        line = line.strip()
        if line in ("START", "BREAK", ""):
            if points:
                strokes.append(np.array(points, dtype=np.float64) * (1.0, -1.0))
            points = []
            continue
        try:
            x, y, _t = line.split(",")
            points.append((float(x), float(y)))
        except ValueError:
            raise InvalidInput(f"{name}: not an Omniglot stroke line: {line[:40]!r}") from None
    if points:
        strokes.append(np.array(points, dtype=np.float64) * (1.0, -1.0))
    if not strokes:
        raise InvalidInput(f"{name}: no strokes")
    return strokes


def load_characters(root: Path | str | None = None) -> dict[str, dict[int, Character]]:
    """{``Alphabet/characterNN``: {drawer: strokes}} from Omniglot's small background stroke sets (Greek and
    Latin, in both zips, are read once)."""
    base = Path(root) if root else default_omniglot_root()
    out: dict[str, dict[int, Character]] = defaultdict(dict)
    for zip_name in STROKE_ZIPS:
        path = base / zip_name
        if not path.is_file():
            raise InvalidInput(f"Omniglot stroke file {path} not found (expected ../shared/data/omniglot beside "
                               f"the repository)")
        with zipfile.ZipFile(path) as zf:
            for entry in sorted(zf.namelist()):
                parts = PurePosixPath(entry).parts
                if parts[0] == "__MACOSX" or not entry.endswith(".txt") or len(parts) != 4:
                    continue
                label, drawer = f"{parts[1]}/{parts[2]}", drawer_of(parts[3])
                if drawer not in out[label]:
                    out[label][drawer] = parse_strokes(zf.read(entry).decode("ascii"), name=entry)
    return dict(out)


def _smooth_noise(n: int, rng: np.random.Generator, *, length: int) -> np.ndarray:
    """(n,) noise varying over about ``length`` samples, at most 1 in magnitude."""
    knots = rng.uniform(-1.0, 1.0, n // max(length, 1) + 2)
    return np.interp(np.linspace(0, len(knots) - 1, n), np.arange(len(knots)), knots)


def _template(n_chars: int, rng: np.random.Generator) -> dict[str, np.ndarray | float]:
    """A name's own layout: each character's size and baseline shift, the gap after it, and a slant."""
    return {"size": rng.uniform(0.75, 1.25, n_chars), "shift": rng.uniform(-0.2, 0.2, n_chars),
            "gap": rng.uniform(-0.1, 0.35, n_chars), "slant": float(rng.uniform(-0.3, 0.3))}


def compose(chars: list[Character], template: dict[str, np.ndarray | float], rng: np.random.Generator, *,
            jitter: float = 1.0) -> list[Stroke]:
    """One written name as pen strokes: each character scaled to a unit height times its size (a flat one, such
    as a dash, to 0.3 of its width instead, so it is not blown up), set after the
    previous one with its gap and shifted by its baseline shift, the whole slanted; ``jitter`` scales this
    sample's own changes (sizes, shifts, gaps, slant, and a smooth displacement of up to 3 % of a character's
    height along each stroke; 0 = the template exactly)."""
    n = len(chars)
    size = np.asarray(template["size"]) * (1 + jitter * rng.uniform(-0.08, 0.08, n))
    shift = np.asarray(template["shift"]) + jitter * rng.uniform(-0.05, 0.05, n)
    gap = np.asarray(template["gap"]) + jitter * rng.uniform(-0.08, 0.08, n)
    slant = float(template["slant"]) + jitter * rng.uniform(-0.05, 0.05)
    out: list[Stroke] = []
    x = 0.0
    for strokes, s, sh, g in zip(chars, size, shift, gap, strict=True):
        pts = np.concatenate(strokes)
        lo, hi = pts.min(0), pts.max(0)
        scale = s / max(hi[1] - lo[1], 1e-6 + 0.3 * (hi[0] - lo[0]))
        width = (hi[0] - lo[0]) * scale
        for st in strokes:
            p = (st - lo) * scale + (x, sh - s / 2)
            if jitter and len(p) > 1:
                p = p + 0.03 * jitter * np.stack([_smooth_noise(len(p), rng, length=25) for _ in range(2)], 1)
            p[:, 0] -= slant * p[:, 1]
            pressure = np.clip(0.55 + 0.25 * _smooth_noise(len(p), rng, length=40), 0.05, 1.0)
            out.append(Stroke(tuple(PenPoint(float(a), float(b), float(c), 0.0)
                                    for (a, b), c in zip(p, pressure, strict=True))))
        x += width + g
    return out


def omniglot_signers(n: int, *, seed: int = 0, root: Path | str | None = None,
                     characters: dict[str, dict[int, Character]] | None = None) -> list[SignatureSample]:
    """``n`` pseudo-signers (subjects 1..n of source ``omniglot``), each with ``GENUINE_PER_SIGNER`` genuine samples
    and ``FORGERIES_PER_SIGNER`` skilled forgeries by as many other drawers (see the module's docstring), as cropped
    ink masks. Seeded: the same arguments give the same samples. ``characters`` (``load_characters``) saves
    reading the zips again."""
    if n < 1:
        raise InvalidInput(f"omniglot_signers needs at least 1 pseudo-signer, got {n}")
    chars = characters if characters is not None else load_characters(root)
    by_alphabet: dict[str, list[str]] = defaultdict(list)
    for name in sorted(chars):
        by_alphabet[name.split("/", 1)[0]].append(name)
    alphabets = sorted(a for a, names in by_alphabet.items() if len(names) >= NAME_LENGTH[1])
    if not alphabets:
        raise InvalidInput(f"no Omniglot alphabet has {NAME_LENGTH[1]} characters")
    rng = np.random.default_rng([seed, 7_919])
    out: list[SignatureSample] = []
    for subject in range(1, n + 1):
        names = by_alphabet[alphabets[rng.integers(len(alphabets))]]
        length = int(rng.integers(NAME_LENGTH[0], NAME_LENGTH[1] + 1))
        word = [names[k] for k in rng.choice(len(names), size=length, replace=False)]
        drawers = sorted(set.intersection(*(set(chars[c]) for c in word)))
        if len(drawers) < 2:
            raise InvalidInput(f"the Omniglot characters {word} share fewer than 2 drawers")
        hand = drawers[int(rng.integers(len(drawers)))]
        others = [d for d in drawers if d != hand]
        template = _template(length, rng)
        for k in range(GENUINE_PER_SIGNER):
            img = rasterize(compose([chars[c][hand] for c in word], template, rng))
            out.append(SignatureSample(SOURCE, subject, k + 1, True, ink=ink_mask(img)))
        forgers = rng.choice(others, size=min(FORGERIES_PER_SIGNER, len(others)), replace=False)
        for k, d in enumerate(forgers):
            img = rasterize(compose([chars[c][int(d)] for c in word], template, rng))
            out.append(SignatureSample(SOURCE, subject, k + 1, False, ink=ink_mask(img)))
    return out
