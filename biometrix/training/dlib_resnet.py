"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) read from dlib's own format.

The network is ``anet_type`` of dlib's ``dnn_face_recognition_ex.cpp``, from the input outward::

    input_rgb_image_sized<150>            (pixel - per-channel mean) / 256, RGB
    con 32 7x7/2, affine, relu, max_pool 3x3/2
    ares 32 x3 | ares_down 64, ares 64 x3 | ares_down 128, ares 128 x2 | ares_down 256, ares 256 x2 | ares_down 256
    avg_pool_everything, fc_no_bias 128    (loss_metric: the descriptor is the raw fc output)

where ``ares`` = relu(x + affine(con3x3(relu(affine(con3x3(x)))))) and ``ares_down`` starts with a stride-2
convolution while its shortcut is avg_pool 2x2/2; the two are added by dlib's ``add_prev``, which adds
tensors of different sizes by treating missing channels, rows and columns as zeros.

dlib's ``serialize()`` format, as this reader understands it:

- integers: one control byte (low 4 bits: how many bytes follow, bit 0x80: negative, bits 0x70: zero),
  then the magnitude in that many little-endian bytes;
- floating point: an integer mantissa then an integer exponent, value = mantissa * 2**exponent
  (exponents 32000 / 32001 / 32002 stand for +inf / -inf / NaN);
- strings: an integer length then the bytes; bools: the character ``'1'`` or ``'0'``;
- tensors: version (2: float32 little-endian; 1: one dlib float each), then num_samples, k, nr, nc;
  alias tensors (views of a layer's ``params``): version 1 then their four dimensions;
- a network: the loss (version, name, fields), then every layer wrapper's version from the outermost
  inward (add_layer 2, tag/skip 1, the layer over the input 3), the input layer, and then each layer's
  own fields from the innermost outward, each followed by its wrapper's state (three bools, cached
  tensors). Tag and skip wrappers hold nothing, so the byte stream is read against the known layout.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from biometrix.core.errors import ModelIntegrityError

INPUT_SIZE = 150
EMBEDDING_DIM = 128
MODEL_FILE_NAME = "dlib_face_recognition_resnet_model_v1.dat"
INPUT_SCALE = 256.0  # input_rgb_image divides by 256, not 255

_FLOAT_INF, _FLOAT_NINF, _FLOAT_NAN = 32000, 32001, 32002
# (filters, downsampling) of each residual block, from the input outward.
_BLOCKS: tuple[tuple[int, bool], ...] = (
    ((32, False),) * 3
    + ((64, True),)
    + ((64, False),) * 3
    + ((128, True),)
    + ((128, False),) * 2
    + ((256, True),)
    + ((256, False),) * 2
    + ((256, True),)
)
# Layer wrappers of one block, outermost first, as anet_type nests them ("tag"/"skip" hold no fields).
_ARES = ("relu", "add_prev", "affine", "con", "relu", "affine", "con", "tag")
_ARES_DOWN = ("relu", "add_prev", "avg_pool", "skip", "tag", "affine", "con", "relu", "affine", "con", "tag")
_STEM = ("max_pool", "relu", "affine", "con")  # the con is the layer over the input
_HEAD = ("fc", "avg_pool")
_LAYER_NAMES = {
    "con": "con_4",
    "affine": "affine_",
    "relu": "relu_",
    "add_prev": "add_prev_",
    "max_pool": "max_pool_2",
    "avg_pool": "avg_pool_2",
    "fc": "fc_2",
}


def default_dat_path() -> Path:
    """Where the ``face_recognition_models`` package keeps the .dat (found without importing the package,
    which needs pkg_resources); ModelIntegrityError when it is not installed."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(
            "face_recognition_models is not installed (pip install face-recognition-models); pass the .dat path"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models" / MODEL_FILE_NAME


# --- dlib's serialization ---------------------------------------------------------------------------


class DlibReader:
    """Reads dlib ``serialize()`` values from ``data`` in order; any problem is a ModelIntegrityError
    naming the byte offset and what was being read."""

    def __init__(self, data: bytes, *, source: str = "dlib data") -> None:
        self._data = bytes(data)
        self._pos = 0
        self._source = source

    @property
    def pos(self) -> int:
        return self._pos

    def at_end(self) -> bool:
        return self._pos == len(self._data)

    def fail(self, message: str) -> ModelIntegrityError:
        return ModelIntegrityError(f"{self._source}: {message} (at byte {self._pos} of {len(self._data)})")

    def _take(self, n: int, what: str) -> bytes:
        if self._pos + n > len(self._data):
            raise self.fail(f"file is truncated: needs {n} byte(s) for {what}, {len(self._data) - self._pos} left")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def read_int(self, what: str = "an integer", *, max_bytes: int = 8) -> int:
        """A signed integer: control byte (size | 0x80 when negative) then ``size`` little-endian bytes."""
        control = self._take(1, what)[0]
        size = control & 0x0F
        if control & 0x70 or size > max_bytes:
            self._pos -= 1
            raise self.fail(f"byte 0x{control:02x} does not start a dlib integer ({what})")
        magnitude = int.from_bytes(self._take(size, what), "little")
        return -magnitude if control & 0x80 else magnitude

    def read_uint(self, what: str = "an unsigned integer", *, max_bytes: int = 8) -> int:
        value = self.read_int(what, max_bytes=max_bytes)
        if value < 0:
            raise self.fail(f"{what} is negative ({value})")
        return value

    def read_float(self, what: str = "a float") -> float:
        """mantissa * 2**exponent, both dlib integers (int64, int16)."""
        mantissa = self.read_int(f"{what} (mantissa)", max_bytes=8)
        exponent = self.read_int(f"{what} (exponent)", max_bytes=2)
        if exponent == _FLOAT_INF:
            return math.inf
        if exponent == _FLOAT_NINF:
            return -math.inf
        if exponent == _FLOAT_NAN:
            return math.nan
        try:
            return math.ldexp(float(mantissa), exponent)
        except OverflowError:
            return math.copysign(math.inf, mantissa)

    def read_bool(self, what: str = "a bool") -> bool:
        ch = self._take(1, what)
        if ch not in (b"0", b"1"):
            self._pos -= 1
            raise self.fail(f"byte 0x{ch[0]:02x} is not a dlib bool ({what})")
        return ch == b"1"

    def read_string(self, what: str = "a string", *, max_len: int = 1 << 16) -> str:
        n = self.read_uint(f"{what} (length)")
        if n > max_len:
            raise self.fail(f"{what} would be {n} bytes long")
        raw = self._take(n, what)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{what} is not text") from exc

    def expect_string(self, expected: str, what: str) -> None:
        start = self._pos
        try:
            got = self.read_string(what, max_len=256)
        except ModelIntegrityError:
            got = None
        if got != expected:
            self._pos = start
            raise self.fail(f"expected {what} {expected!r}, found {got!r}; not the dlib face recognition ResNet")

    def read_dims(self, what: str) -> tuple[int, int, int, int]:
        n, k, nr, nc = (self.read_uint(f"{what} ({d})") for d in ("num_samples", "k", "nr", "nc"))
        return n, k, nr, nc

    def read_tensor(self, what: str = "a tensor") -> np.ndarray:
        """A dlib tensor as a float32 array of shape (num_samples, k, nr, nc)."""
        version = self.read_int(f"{what} (version)")
        if version not in (1, 2):
            raise self.fail(f"unknown tensor version {version} ({what})")
        dims = self.read_dims(what)
        count = math.prod(dims)
        least = count * (4 if version == 2 else 2)  # a dlib float takes 2 bytes or more
        if least > len(self._data) - self._pos:
            raise self.fail(f"file is truncated: {what} of shape {dims} needs at least {least} bytes")
        if version == 2:
            values = np.frombuffer(self._take(4 * count, what), dtype="<f4")
        else:
            values = np.array([self.read_float(what) for _ in range(count)], dtype=np.float64)
        return values.astype(np.float32).reshape(dims)

    def read_alias_tensor(self, what: str) -> tuple[int, int, int, int]:
        """An alias_tensor (a view into a layer's params): version 1 and its shape."""
        version = self.read_int(f"{what} (version)")
        if version != 1:
            raise self.fail(f"unknown alias_tensor version {version} ({what})")
        return self.read_dims(what)


def decode_int(data: bytes) -> int:
    """One dlib integer that must fill ``data`` exactly."""
    r = DlibReader(data)
    value = r.read_int()
    if not r.at_end():
        raise r.fail("trailing bytes after the integer")
    return value


def decode_float(data: bytes) -> float:
    """One dlib float (mantissa, exponent) that must fill ``data`` exactly."""
    r = DlibReader(data)
    value = r.read_float()
    if not r.at_end():
        raise r.fail("trailing bytes after the float")
    return value


# --- the parsed network --------------------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    weight: np.ndarray  # (out, in, kh, kw)
    bias: np.ndarray  # (out,)
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class Affine:
    gamma: np.ndarray  # (C,)
    beta: np.ndarray  # (C,)


@dataclass(frozen=True)
class Pool:
    kernel: tuple[int, int]  # (0, 0): the whole image (avg_pool_everything)
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class DlibFaceResnetWeights:
    """Everything the .dat holds that inference needs, in network order (input outward)."""

    input_means: tuple[float, float, float]  # R, G, B, subtracted before dividing by 256
    input_size: tuple[int, int]
    stem_conv: Conv
    stem_affine: Affine
    stem_pool: Pool
    blocks: tuple[tuple[Conv, Affine, Conv, Affine, Pool | None], ...]  # Pool: the shortcut of ares_down
    fc_weight: np.ndarray  # (128, 256), no bias
    loss_margin: float
    loss_distance_threshold: float


_Parsed = Conv | Affine | Pool | np.ndarray | None  # what one layer's fields become (relu, add_prev: None)


def _wrappers() -> list[str]:
    """Every layer wrapper of anet_type, outermost first (the order of their versions in the file)."""
    layers = list(_HEAD)
    for _, down in reversed(_BLOCKS):
        layers += _ARES_DOWN if down else _ARES
    return layers + list(_STEM)


def _read_layer(r: DlibReader, kind: str, index: int) -> _Parsed:
    name = _LAYER_NAMES[kind]
    what = f"layer {index} ({name})"
    r.expect_string(name, f"layer {index} type")
    if kind in ("relu", "add_prev"):
        return None
    if kind in ("max_pool", "avg_pool"):
        nr, nc, sy, sx, py, px = (
            r.read_int(f"{what} {f}") for f in ("nr", "nc", "stride_y", "stride_x", "pad_y", "pad_x")
        )
        return Pool(kernel=(nr, nc), stride=(sy, sx), padding=(py, px))
    if kind == "affine":
        params = r.read_tensor(f"{what} params").ravel()
        gamma = r.read_alias_tensor(f"{what} gamma")
        beta = r.read_alias_tensor(f"{what} beta")
        mode = r.read_int(f"{what} mode")
        channels = gamma[1]
        if mode != 0 or gamma != beta or gamma != (1, channels, 1, 1) or params.size != 2 * channels:
            raise r.fail(f"{what} is not a per-channel affine layer (mode {mode}, gamma {gamma}, beta {beta})")
        return Affine(gamma=params[:channels].copy(), beta=params[channels:].copy())
    if kind == "con":
        params = r.read_tensor(f"{what} params").ravel()
        num_filters, nr, nc, sy, sx, py, px = (
            r.read_int(f"{what} {f}") for f in ("num_filters", "nr", "nc", "stride_y", "stride_x", "pad_y", "pad_x")
        )
        filters = r.read_alias_tensor(f"{what} filters")
        biases = r.read_alias_tensor(f"{what} biases")
        for f in ("learning_rate_multiplier", "weight_decay_multiplier", "bias_lr_multiplier", "bias_wd_multiplier"):
            r.read_float(f"{what} {f}")
        n_w, n_b = math.prod(filters), math.prod(biases)
        if filters[0] != num_filters or filters[2:] != (nr, nc) or n_b != num_filters or params.size != n_w + n_b:
            raise r.fail(f"{what} has inconsistent shapes (filters {filters}, biases {biases}, {params.size} params)")
        return Conv(
            weight=params[:n_w].reshape(filters).copy(),
            bias=params[n_w:].copy(),
            stride=(sy, sx),
            padding=(py, px),
        )
    # fc_2: num_outputs, num_inputs, params, the weights / biases views, bias mode, multipliers
    num_outputs = r.read_uint(f"{what} num_outputs")
    num_inputs = r.read_uint(f"{what} num_inputs")
    params = r.read_tensor(f"{what} params").ravel()
    weights = r.read_alias_tensor(f"{what} weights")
    biases = r.read_alias_tensor(f"{what} biases")
    bias_mode = r.read_int(f"{what} bias mode")
    for f in ("learning_rate_multiplier", "weight_decay_multiplier", "bias_lr_multiplier", "bias_wd_multiplier"):
        r.read_float(f"{what} {f}")
    if weights[:2] != (num_inputs, num_outputs) or math.prod(biases) != 0 or bias_mode != 1:
        raise r.fail(f"{what} is not fc_no_bias (weights {weights}, biases {biases}, bias mode {bias_mode})")
    if params.size != num_inputs * num_outputs:
        raise r.fail(f"{what} holds {params.size} params, expected {num_inputs * num_outputs}")
    return params.reshape(num_inputs, num_outputs).T.copy()  # dlib computes x @ W with W (inputs, outputs)


def _read_wrapper_state(r: DlibReader, index: int, *, over_input: bool) -> None:
    """What add_layer saves after its layer: three bools, then cached tensors (and, over the input,
    the sample expansion factor)."""
    for f in ("setup_called", "gradient_input_is_stale", "get_output_disabled"):
        r.read_bool(f"layer {index} {f}")
    for f in ("x_grad", "cached_output", "grad_final" if over_input else "params_grad"):
        r.read_tensor(f"layer {index} {f}")
    if over_input:
        r.read_int(f"layer {index} sample_expansion_factor")


def read_dlib_face_resnet(path: str | Path) -> DlibFaceResnetWeights:
    """Parse ``dlib_face_recognition_resnet_model_v1.dat``; ModelIntegrityError if it is missing,
    truncated, or anything but that network."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelIntegrityError(f"cannot read dlib model {p} ({exc.strerror or exc})") from exc
    return parse_dlib_face_resnet(data, source=str(p))


def parse_dlib_face_resnet(data: bytes, *, source: str = "dlib model") -> DlibFaceResnetWeights:
    """The bytes of the .dat -> its weights (see ``read_dlib_face_resnet``)."""
    r = DlibReader(data, source=source)
    if r.read_int("loss wrapper version") != 1:
        raise r.fail("unknown loss wrapper version; not a dlib network file")
    r.expect_string("loss_metric_2", "loss layer type")
    margin = r.read_float("loss_metric margin")
    dist_thresh = r.read_float("loss_metric distance threshold")

    wrappers = _wrappers()
    for i, kind in enumerate(wrappers):
        expected = 1 if kind in ("tag", "skip") else 3 if i == len(wrappers) - 1 else 2
        version = r.read_int(f"wrapper version of layer {i} ({kind})")
        if version != expected:
            raise r.fail(f"layer {i} ({kind}) has wrapper version {version}, expected {expected}; other network")

    r.expect_string("input_rgb_image_sized", "input layer type")
    means = tuple(r.read_float(f"input mean {c}") for c in "RGB")
    size = (r.read_uint("input rows"), r.read_uint("input columns"))
    if size != (INPUT_SIZE, INPUT_SIZE):
        raise r.fail(f"input is {size[0]}x{size[1]}, expected {INPUT_SIZE}x{INPUT_SIZE}")

    layers = [k for k in wrappers if k not in ("tag", "skip")][::-1]  # innermost first: the order of the fields
    parsed: list[_Parsed] = []
    for i, kind in enumerate(layers):
        parsed.append(_read_layer(r, kind, i))
        _read_wrapper_state(r, i, over_input=i == 0)
    if not r.at_end():
        raise r.fail("unexpected bytes after the last layer")
    return _assemble(_Layers(layers, parsed, r), r, means=means, size=size, margin=margin, dist_thresh=dist_thresh)


class _Layers:
    """The parsed layers, innermost first, taken one at a time by kind (typed for the assembly)."""

    def __init__(self, kinds: list[str], parsed: list[_Parsed], reader: DlibReader) -> None:
        self._items = iter(zip(kinds, parsed, strict=True))
        self._reader = reader

    def _take(self, kind: str) -> _Parsed:
        got_kind, value = next(self._items)
        if got_kind != kind:  # cannot happen: both lists come from the same layout
            raise self._reader.fail(f"layout mismatch: {got_kind} where {kind} was expected")
        return value

    def skip(self, kind: str) -> None:
        self._take(kind)

    def conv(self) -> Conv:
        value = self._take("con")
        if not isinstance(value, Conv):
            raise self._reader.fail("expected a convolution")
        return value

    def affine(self) -> Affine:
        value = self._take("affine")
        if not isinstance(value, Affine):
            raise self._reader.fail("expected an affine layer")
        return value

    def pool(self, kind: str) -> Pool:
        value = self._take(kind)
        if not isinstance(value, Pool):
            raise self._reader.fail(f"expected a {kind} layer")
        return value

    def fc(self) -> np.ndarray:
        value = self._take("fc")
        if not isinstance(value, np.ndarray):
            raise self._reader.fail("expected a fully connected layer")
        return value


def _assemble(
    layers: _Layers,
    r: DlibReader,
    *,
    means: tuple[float, ...],
    size: tuple[int, int],
    margin: float,
    dist_thresh: float,
) -> DlibFaceResnetWeights:
    stem_conv, stem_affine = layers.conv(), layers.affine()
    layers.skip("relu")
    stem_pool = layers.pool("max_pool")
    blocks = []
    channels = stem_conv.weight.shape[0]
    for filters, down in _BLOCKS:
        conv1, aff1 = layers.conv(), layers.affine()
        layers.skip("relu")
        conv2, aff2 = layers.conv(), layers.affine()
        shortcut = layers.pool("avg_pool") if down else None
        layers.skip("add_prev")
        layers.skip("relu")
        if conv1.weight.shape[:2] != (filters, channels) or conv2.weight.shape[:2] != (filters, filters):
            raise r.fail(f"block of {filters} filters has convolutions {conv1.weight.shape} / {conv2.weight.shape}")
        if aff1.gamma.size != filters or aff2.gamma.size != filters:
            raise r.fail(f"block of {filters} filters has affine layers of {aff1.gamma.size} / {aff2.gamma.size}")
        if shortcut is not None and shortcut.padding != (0, 0):
            raise r.fail(f"shortcut avg_pool with padding {shortcut.padding} is not supported")
        blocks.append((conv1, aff1, conv2, aff2, shortcut))
        channels = filters
    pool_all = layers.pool("avg_pool")
    fc = layers.fc()
    if pool_all.kernel != (0, 0) or fc.shape != (EMBEDDING_DIM, channels):
        raise r.fail(f"head is avg_pool {pool_all.kernel} + fc {fc.shape}, expected avg_pool_everything + fc 128")
    return DlibFaceResnetWeights(
        input_means=(float(means[0]), float(means[1]), float(means[2])),
        input_size=size,
        stem_conv=stem_conv,
        stem_affine=stem_affine,
        stem_pool=stem_pool,
        blocks=tuple(blocks),
        fc_weight=fc,
        loss_margin=margin,
        loss_distance_threshold=dist_thresh,
    )


# --- the torch module ------------------------------------------------------------------------------


def _conv(c: Conv) -> nn.Conv2d:
    out_ch, in_ch, kh, kw = c.weight.shape
    conv = nn.Conv2d(in_ch, out_ch, (kh, kw), stride=c.stride, padding=c.padding, bias=True)
    conv.load_state_dict({"weight": torch.from_numpy(c.weight), "bias": torch.from_numpy(c.bias)})
    return conv


class ChannelAffine(nn.Module):
    """dlib's affine_ in CONV_MODE: ``gamma[c] * x + beta[c]`` (a batch norm folded at training's end)."""

    def __init__(self, a: Affine) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.from_numpy(a.gamma.copy()).view(1, -1, 1, 1))
        self.beta = nn.Parameter(torch.from_numpy(a.beta.copy()).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma + self.beta


def padded_add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's add_prev: (N,Ca,Ha,Wa) + (N,Cb,Hb,Wb) -> (N,max C,max H,max W), missing entries read as 0
    (padding after the last channel / row / column)."""
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def grow(t: torch.Tensor) -> torch.Tensor:
        if tuple(t.shape[1:]) == (c, h, w):
            return t
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return grow(a) + grow(b)


class ResidualBlock(nn.Module):
    """ares / ares_down: relu(shortcut(x) + affine(con(relu(affine(con(x))))))."""

    def __init__(self, conv1: Conv, aff1: Affine, conv2: Conv, aff2: Affine, shortcut: Pool | None) -> None:
        super().__init__()
        self.conv1, self.aff1 = _conv(conv1), ChannelAffine(aff1)
        self.conv2, self.aff2 = _conv(conv2), ChannelAffine(aff2)
        self.shortcut = (
            nn.AvgPool2d(shortcut.kernel, stride=shortcut.stride, padding=0) if shortcut is not None else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.aff2(self.conv2(torch.relu(self.aff1(self.conv1(x)))))
        return torch.relu(padded_add(self.shortcut(x), y))


class DlibFaceResnet(nn.Module):
    """(N, 3, 150, 150) RGB float32 in 0..255 -> (N, 128), dlib's face descriptor (not normalised).

    The input normalisation of dlib's input_rgb_image_sized is inside the module.
    """

    mean: torch.Tensor

    def __init__(self, weights: DlibFaceResnetWeights) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(weights.input_means, dtype=torch.float32).view(1, 3, 1, 1))
        self.stem_conv = _conv(weights.stem_conv)
        self.stem_affine = ChannelAffine(weights.stem_affine)
        p = weights.stem_pool
        self.stem_pool = nn.MaxPool2d(p.kernel, stride=p.stride, padding=p.padding)
        self.blocks = nn.Sequential(*(ResidualBlock(*b) for b in weights.blocks))
        self.fc = nn.Linear(weights.fc_weight.shape[1], weights.fc_weight.shape[0], bias=False)
        self.fc.weight.data.copy_(torch.from_numpy(weights.fc_weight))

    @classmethod
    def from_dat(cls, path: str | Path | None = None) -> DlibFaceResnet:
        """Read the .dat (default: the one of face_recognition_models) into an eval-mode module."""
        return cls(read_dlib_face_resnet(default_dat_path() if path is None else path)).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / INPUT_SCALE
        x = self.stem_pool(torch.relu(self.stem_affine(self.stem_conv(x))))
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))
