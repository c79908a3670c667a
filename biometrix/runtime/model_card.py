"""Model cards: the strict JSON that describes each ONNX model, its thresholds and its provenance."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from biometrix.core.errors import ModelIntegrityError
from biometrix.core.types import CAPTURES, Modality, Threshold

DEFAULT_THRESHOLD_NAME = "default"
#: The model used for a modality when the models folder holds several and none is named (--face-model etc.):
#: dlib's ResNet is the production face encoder; face-siamese-v1 shows the training path and is opt-in.
PREFERRED_MODELS: dict[Modality, str] = {Modality.FACE: "face-dlib-resnet-v1", Modality.SIGNATURE: "signature-v6-int8"}
DISTANCES = frozenset({"cosine", "euclidean"})
AGGREGATES = frozenset({"mean", "min", "centroid", "normalized"})
INPUT_DTYPES = frozenset({"float32"})

_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CARD_KEYS = (
    "model_id",
    "modality",
    "onnx_file",
    "sha256",
    "input_name",
    "input_shape",
    "input_dtype",
    "normalization",
    "embedding_dim",
    "distance",
    "aggregate",
    "thresholds",
    "preprocessing",
    "training",
    "evaluation",
    "created_at",
)
_THRESHOLD_KEYS = ("name", "value", "target_fmr", "source")
_NORMALIZATION_KEYS = ("mean", "std")


@dataclass(frozen=True)
class Normalization:
    """``(pixel - mean) / std``, applied by the pipeline before the encoder."""

    mean: float
    std: float


@dataclass(frozen=True)
class CardThreshold:
    """A named threshold of a card: a distance, the FMR it was set at (None: by hand), and on what data."""

    name: str
    value: float
    target_fmr: float | None
    source: str


@dataclass(frozen=True)
class ModelCard:
    """What ``<model_id>.json`` says about ``<model_id>.onnx``; read with ``ModelCard.load``.

    ``preprocessing``, ``training`` and ``evaluation`` are free-form JSON objects (treat as read-only).
    """

    model_id: str
    modality: Modality
    onnx_file: str
    sha256: str
    input_name: str
    input_shape: tuple[int, int, int]
    input_dtype: str
    normalization: Normalization
    embedding_dim: int
    distance: str
    aggregate: str
    thresholds: tuple[CardThreshold, ...]
    preprocessing: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    # --- reading / writing -----------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelCard:
        """Read and strictly validate a card; any problem is a ModelIntegrityError naming the key."""
        return cls.load_with_digest(path)[0]

    @classmethod
    def load_with_digest(cls, path: str | os.PathLike[str]) -> tuple[ModelCard, str]:
        """The card and the sha256 of the very bytes it was read from (what a database pins)."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except FileNotFoundError as exc:
            raise ModelIntegrityError(f"model card {p} does not exist") from exc
        except OSError as exc:
            raise ModelIntegrityError(f"model card {p} cannot be read ({exc})") from exc
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelIntegrityError(f"model card {p} cannot be read ({exc})") from exc
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelIntegrityError(
                f"model card {p} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from exc
        except (RecursionError, ValueError) as exc:  # nested too deeply, or an integer too long to read
            raise ModelIntegrityError(f"model card {p} is not usable JSON ({type(exc).__name__})") from None
        return cls.from_dict(raw, source=str(p)), hashlib.sha256(data).hexdigest()

    @classmethod
    def from_dict(cls, raw: object, *, source: str = "model card") -> ModelCard:
        """Validate a decoded JSON object (see ``load``); ``source`` names it in error messages."""
        v = _Validator(source)
        obj = v.mapping(raw, "card")
        v.exact_keys(obj, _CARD_KEYS, where="")
        model_id = v.string(obj, "model_id")
        if not _MODEL_ID.fullmatch(model_id):
            v.fail("model_id", "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
        modality_name = v.choice(obj, "modality", frozenset(m.value for m in Modality))
        onnx_file = v.string(obj, "onnx_file")
        if Path(onnx_file).name != onnx_file or onnx_file in (".", "..") or not onnx_file.endswith(".onnx"):
            v.fail("onnx_file", "must be a bare file name ending in .onnx, beside the card")
        sha256 = v.string(obj, "sha256")
        if not _SHA256.fullmatch(sha256):
            v.fail("sha256", "must be 64 lower-case hex digits")
        input_shape_raw = v.array(obj, "input_shape")
        if len(input_shape_raw) != 3 or not all(_is_int(d) and d > 0 for d in input_shape_raw):
            v.fail("input_shape", "must be [C, H, W], three positive integers")
        norm = v.mapping(obj.get("normalization"), "normalization")
        v.exact_keys(norm, _NORMALIZATION_KEYS, where="normalization.")
        std = v.number(norm, "std", where="normalization.")
        if std <= 0:
            v.fail("normalization.std", "must be > 0")
        embedding_dim = v.integer(obj, "embedding_dim")
        if embedding_dim <= 0:
            v.fail("embedding_dim", "must be > 0")
        thresholds = tuple(v.threshold(item, f"thresholds[{i}]") for i, item in enumerate(v.array(obj, "thresholds")))
        names = [t.name for t in thresholds]
        if len(set(names)) != len(names):
            v.fail("thresholds", f"names must be unique, got {names}")
        if DEFAULT_THRESHOLD_NAME not in names:
            v.fail("thresholds", f"must contain one named {DEFAULT_THRESHOLD_NAME!r}")
        created_at = v.string(obj, "created_at")
        try:
            datetime.fromisoformat(created_at)
        except ValueError:
            v.fail("created_at", f"must be an ISO 8601 date-time, got {created_at!r}")
        return cls(
            model_id=model_id,
            modality=Modality(modality_name),
            onnx_file=onnx_file,
            sha256=sha256,
            input_name=v.string(obj, "input_name"),
            input_shape=(int(input_shape_raw[0]), int(input_shape_raw[1]), int(input_shape_raw[2])),
            input_dtype=v.choice(obj, "input_dtype", INPUT_DTYPES),
            normalization=Normalization(mean=v.number(norm, "mean", where="normalization."), std=std),
            embedding_dim=embedding_dim,
            distance=v.choice(obj, "distance", DISTANCES),
            aggregate=v.choice(obj, "aggregate", AGGREGATES),
            thresholds=thresholds,
            preprocessing=copy.deepcopy(v.mapping(obj.get("preprocessing"), "preprocessing")),
            training=copy.deepcopy(v.mapping(obj.get("training"), "training")),
            evaluation=copy.deepcopy(v.mapping(obj.get("evaluation"), "evaluation")),
            created_at=created_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """The card as a JSON-ready dict, keys in card order."""
        return {
            "model_id": self.model_id,
            "modality": self.modality.value,
            "onnx_file": self.onnx_file,
            "sha256": self.sha256,
            "input_name": self.input_name,
            "input_shape": list(self.input_shape),
            "input_dtype": self.input_dtype,
            "normalization": {"mean": self.normalization.mean, "std": self.normalization.std},
            "embedding_dim": self.embedding_dim,
            "distance": self.distance,
            "aggregate": self.aggregate,
            "thresholds": [
                {"name": t.name, "value": t.value, "target_fmr": t.target_fmr, "source": t.source}
                for t in self.thresholds
            ],
            "preprocessing": copy.deepcopy(self.preprocessing),
            "training": copy.deepcopy(self.training),
            "evaluation": copy.deepcopy(self.evaluation),
            "created_at": self.created_at,
        }

    def to_json(self) -> str:
        """The card as indented JSON text (what ``save`` writes)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the card atomically (temp file + rename) after re-validating it; returns the path.

        The file is readable by every user (0644): a card holds no secret, and an app installed for all users
        must read it."""
        text = self.to_json()
        ModelCard.from_dict(json.loads(text), source=f"card of {self.model_id}")
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)  # mkstemp creates 0600
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p

    # --- use -------------------------------------------------------------------------------------

    def threshold(self, name: str = DEFAULT_THRESHOLD_NAME) -> Threshold:
        """The named threshold as a core Threshold bound to this model and distance."""
        for t in self.thresholds:
            if t.name == name:
                return Threshold(
                    value=t.value,
                    model_id=self.model_id,
                    distance=self.distance,
                    target_fmr=t.target_fmr,
                    source=t.source,
                )
        known = ", ".join(t.name for t in self.thresholds)
        raise ModelIntegrityError(f"model {self.model_id} has no threshold named {name!r} (it has: {known})")

    def default_threshold(self) -> Threshold:
        """The threshold named 'default', bound to this model and distance."""
        return self.threshold(DEFAULT_THRESHOLD_NAME)

    def capture_threshold(self, capture: str | None) -> Threshold:
        """The threshold for a probe captured as ``capture`` ("scan" or "pen"): the card's threshold of that
        name where it is stricter (smaller) than the default, else the default. A capture's own threshold only
        ever tightens the default: it rests on one source's validation subjects (10 CEDAR signers, 5 SVC2004
        users), and loosening a threshold on so few was seen not to hold on new signers (README, "One threshold
        per capture")."""
        if capture is not None and capture not in CAPTURES:
            raise ValueError(f"capture must be one of {', '.join(CAPTURES)}, got {capture!r}")
        default = self.default_threshold()
        if capture not in {t.name for t in self.thresholds}:
            return default
        own = self.threshold(capture)
        return own if own.value < default.value else default

    def onnx_path(self, models_dir: str | os.PathLike[str]) -> Path:
        """Where this card's ONNX file lives in ``models_dir``."""
        return Path(models_dir) / self.onnx_file


def sha256_file(path: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> str:
    """Lower-case hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def find_models(models_dir: str | os.PathLike[str]) -> list[ModelCard]:
    """Every card (``*.json``) in ``models_dir``, sorted by model_id; an absent folder has none.

    A card whose file name is not ``<model_id>.json`` is refused, as is any invalid card.
    """
    folder = Path(models_dir)
    if not folder.is_dir():
        return []
    cards = []
    for path in sorted(folder.glob("*.json")):
        card = ModelCard.load(path)
        if path.stem != card.model_id:
            raise ModelIntegrityError(f"model card {path} describes model_id {card.model_id!r}; rename one")
        cards.append(card)
    return sorted(cards, key=lambda c: c.model_id)


def load_card_for(
    models_dir: str | os.PathLike[str],
    *,
    model_id: str | None = None,
    modality: Modality | str | None = None,
    prefer: str | None = None,
) -> ModelCard:
    """The one card matching ``model_id`` and/or ``modality`` in ``models_dir``.

    With neither, the folder must hold exactly one model. Several matches are an error naming them, unless
    one of them is ``prefer`` (the app's default model of that modality, e.g. ``PREFERRED_MODELS``).
    """
    folder = Path(models_dir)
    wanted = _modality(modality)
    if model_id is not None:
        if not _MODEL_ID.fullmatch(model_id):
            raise ModelIntegrityError(f"{model_id!r} is not a valid model_id")
        path = folder / f"{model_id}.json"
        if not path.is_file():
            raise ModelIntegrityError(f"no model {model_id!r} in {folder} (no {path.name})")
        card = ModelCard.load(path)
        if card.model_id != model_id:
            raise ModelIntegrityError(f"model card {path} describes model_id {card.model_id!r}; rename one")
        if wanted is not None and card.modality is not wanted:
            raise ModelIntegrityError(f"model {model_id!r} is a {card.modality.value} model, not {wanted.value}")
        return card
    cards = [c for c in find_models(folder) if wanted is None or c.modality is wanted]
    what = f"{wanted.value} model" if wanted is not None else "model"
    if not cards:
        raise ModelIntegrityError(f"no {what} in {folder}")
    preferred = [c for c in cards if c.model_id == prefer]
    if len(cards) > 1 and preferred:
        return preferred[0]
    if len(cards) > 1:
        ids = ", ".join(c.model_id for c in cards)
        raise ModelIntegrityError(f"several {what}s in {folder} ({ids}); choose one by model_id")
    return cards[0]


# --- validation helpers --------------------------------------------------------------------------


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _modality(value: Modality | str | None) -> Modality | None:
    if value is None or isinstance(value, Modality):
        return value
    try:
        return Modality(value)
    except ValueError:
        known = ", ".join(m.value for m in Modality)
        raise ModelIntegrityError(f"unknown modality {value!r} (known: {known})") from None


class _Validator:
    """Typed getters that raise ModelIntegrityError naming the source and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ModelIntegrityError(f"{self.source}: key {key!r} {problem}")

    def mapping(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            if key == "card":
                raise ModelIntegrityError(f"{self.source}: must be a JSON object, got {_json_type(value)}")
            self.fail(key, f"must be a JSON object, got {_json_type(value)}")
        return value  # type: ignore[return-value]

    def exact_keys(self, obj: Mapping[str, Any], keys: tuple[str, ...], *, where: str) -> None:
        unknown = [k for k in obj if k not in keys]
        if unknown:
            raise ModelIntegrityError(f"{self.source}: unknown key {where}{unknown[0]!r}")
        missing = [k for k in keys if k not in obj]
        if missing:
            raise ModelIntegrityError(f"{self.source}: missing key {where}{missing[0]!r}")

    def string(self, obj: Mapping[str, Any], key: str, *, where: str = "") -> str:
        value = obj[key]
        if not isinstance(value, str):
            self.fail(where + key, f"must be a string, got {_json_type(value)}")
        return value

    def choice(self, obj: Mapping[str, Any], key: str, allowed: frozenset[str]) -> str:
        value = self.string(obj, key)
        if value not in allowed:
            self.fail(key, f"must be one of {sorted(allowed)}, got {value!r}")
        return value

    def integer(self, obj: Mapping[str, Any], key: str) -> int:
        value = obj[key]
        if not _is_int(value):
            self.fail(key, f"must be an integer, got {_json_type(value)}")
        return int(value)

    def number(self, obj: Mapping[str, Any], key: str, *, where: str = "") -> float:
        value = obj[key]
        if not (isinstance(value, int | float) and not isinstance(value, bool)) or not _finite(value):
            self.fail(where + key, f"must be a finite number, got {_json_type(value)}")
        return float(value)

    def array(self, obj: Mapping[str, Any], key: str) -> list[Any]:
        value = obj[key]
        if not isinstance(value, list):
            self.fail(key, f"must be a JSON array, got {_json_type(value)}")
        return value

    def threshold(self, item: object, where: str) -> CardThreshold:
        obj = self.mapping(item, where)
        self.exact_keys(obj, _THRESHOLD_KEYS, where=f"{where}.")
        name = self.string(obj, "name", where=f"{where}.")
        if not name:
            self.fail(f"{where}.name", "must not be empty")
        target = obj["target_fmr"]
        if target is not None:
            target = self.number(obj, "target_fmr", where=f"{where}.")
            if not 0.0 < target < 1.0:
                self.fail(f"{where}.target_fmr", f"must be in (0, 1) or null, got {target}")
        return CardThreshold(
            name=name,
            value=self.number(obj, "value", where=f"{where}."),
            target_fmr=target,
            source=self.string(obj, "source", where=f"{where}."),
        )


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}" if _finite(value) and abs(value) < 1e30 else "an out-of-range number"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
