"""The classifier test: how well a neural network tells generated from reference showers.

Protocols (both: equal class sizes, 60/20/20 train/test/validation split per class, best epoch
by test accuracy, isotonic calibration of the test-set predictions, AUC and
``JSD = (ln 2 - BCE) / ln 2`` of the calibrated predictions on the held-out validation split,
AUC uncertainty from 100 bootstrap resamples of that split):

* ``challenge``: the CaloChallenge 2022 evaluation (3 hidden layers x 2048, LeakyReLU,
  Adam 2e-4, batch 1000, 50 epochs, raw inputs). Hours per run on a laptop CPU for ds1.
* ``fast``: for 2 CPU cores: 2 hidden layers x 1024, LeakyReLU, raw inputs as in
  ``challenge``, Adam 5e-4, batch 1000, at most 80 epochs with early stopping after 20 epochs
  without a better test accuracy; about 8x fewer operations per epoch than ``challenge``.
  Validated against ``challenge`` on a 20k-vs-20k pair, three seeds each
  (``benchmarks/classifier_validation.py``, results in
  ``benchmarks/results/classifier_validation.json``). Narrower networks or standardised inputs
  train faster but disagree with ``challenge`` by up to 0.1 in AUC (the challenge network is
  itself not converged after 50 epochs on such a pair), so they are not offered as ``fast``.

``cls-resnet`` (:mod:`caloforge.evaluate.resnet`) trains a 3D ResNet on the voxels as images
with the same split, selection, calibration and metrics; a protocol name selects its entry of
:data:`RESNET_PROTOCOLS`:

* ``fast``: the :data:`~caloforge.evaluate.resnet.TINY` network (14k parameters), AdamW 1e-3,
  batch 250, at most 20 epochs with early stopping after 5. On one CPU core: 10k vs 10k
  ds1-photons showers stopped after 10 epochs, 45 s of CPU for the whole evaluation; ds3 takes
  about a minute of CPU per epoch at 10k vs 10k (training steps of 1.2 s per 250 showers).
* ``challenge``: the depth-18 :data:`~caloforge.evaluate.resnet.REFERENCE` network, AdamW
  2e-5, batch 1000, 48 epochs (a GPU job).

The MLP protocols take raw inputs, as the CaloChallenge did, and need samples of order 10k showers
per class: on caloforge reference data, voxel energies scaled by 1.05 at E_inc >= 64 GeV give
a ``fast`` cls-low AUC of 0.998 with 20k showers per class but only 0.66 with 3.4k (and cls-high
0.83 and 0.49), although E_tot/E_inc alone separates them with an AUC of 0.998. Quote the
sample size with every AUC.
"""

from __future__ import annotations

import copy
import tempfile
import time
from dataclasses import asdict, dataclass, field

import h5py
import numpy as np
import torch
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score, roc_curve
from tqdm.auto import tqdm

from caloforge.evaluate.classifier_inputs import RowSource, as_rows
from caloforge.evaluate.resnet import REFERENCE, TINY, ResNet3d, ResNetSpec
from caloforge.seeds import seeded_init

__all__ = ["BLOCK_BYTES", "PROTOCOLS", "RESNET_PROTOCOLS", "ClassifierProtocol",
           "ClassifierResult", "run_classifier"]

#: Size of one block of classifier inputs in memory (the inputs live in a temporary file).
BLOCK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class ClassifierProtocol:
    """Architecture and training schedule of a classifier test: an MLP with ``hidden`` widths,
    or with ``resnet`` set a :class:`~caloforge.evaluate.resnet.ResNet3d` of that size (its
    inputs need an image shape)."""

    name: str
    hidden: tuple[int, ...]
    lr: float
    batch_size: int
    epochs: int
    patience: int | None
    standardise: bool
    resnet: ResNetSpec | None = None
    optimizer: str = "adam"  # or "adamw"


PROTOCOLS: dict[str, ClassifierProtocol] = {
    "challenge": ClassifierProtocol("challenge", (2048, 2048, 2048), 2e-4, 1000, 50, None, False),
    "fast": ClassifierProtocol("fast", (1024, 1024), 5e-4, 1000, 80, 20, False),
}
#: The ``cls-resnet`` protocols, by the name that selects them.
RESNET_PROTOCOLS: dict[str, ClassifierProtocol] = {
    "fast": ClassifierProtocol("resnet-fast", (), 1e-3, 250, 20, 5, False, TINY, "adamw"),
    "challenge": ClassifierProtocol("resnet-challenge", (), 2e-5, 1000, 48, None, False,
                                    REFERENCE, "adamw"),
}


@dataclass
class ClassifierResult:
    """Outcome of one classifier test (AUC 0.5: indistinguishable; 1: fully separable)."""

    mode: str
    protocol: str
    auc: float
    auc_err: float
    jsd: float
    accuracy: float
    best_epoch: int
    epochs_run: int
    n_per_class: int
    seconds: float
    roc_fpr: list[float] = field(default_factory=list)
    roc_tpr: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return asdict(self)


def _mlp(n_in: int, hidden: tuple[int, ...]) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    for width in hidden:
        layers += [torch.nn.Linear(n_in, width), torch.nn.LeakyReLU()]
        n_in = width
    layers.append(torch.nn.Linear(n_in, 1))
    return torch.nn.Sequential(*layers)


def _model(width: int, proto: ClassifierProtocol, image_shape: tuple[int, int, int] | None,
           n_scalars: int) -> torch.nn.Module:
    if proto.resnet is None:
        return _mlp(width, proto.hidden)
    if image_shape is None:
        raise ValueError(f"protocol '{proto.name}' needs inputs with an image shape")
    if width != n_scalars + int(np.prod(image_shape)):
        raise ValueError(f"{width} inputs per row, but {n_scalars} scalars + image "
                         f"{image_shape}")
    return ResNet3d(image_shape, n_scalars, proto.resnet)


def _split(rows: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Train (60 %), test (20 %) and validation (20 %) rows."""
    idx = rng.permutation(len(rows))
    a, b = int(0.6 * len(rows)), int(0.8 * len(rows))
    return [rows[idx[:a]], rows[idx[a:b]], rows[idx[b:]]]


class _Blocks:
    """The inputs of the three splits, dealt at random into blocks of at most ``BLOCK_BYTES``
    in a temporary HDF5 file (one streaming pass over each source), so a block is a random mix of
    both classes and only one block per split is in memory at a time."""

    def __init__(self, sources: list[RowSource], index: list[list[np.ndarray]], width: int,
                 rng: np.random.Generator, folder: str) -> None:
        self.rows = max(1000, BLOCK_BYTES // (4 * width))
        self._h5 = h5py.File(f"{folder}/inputs.h5", "w")
        self.names: list[list[str]] = []
        counts = [sum(len(index[c][s]) for c in range(2)) for s in range(3)]
        chunk = max(1, min(256, 2**19 // (4 * width)))  # rows: chunks fit h5py's 1 MB cache
        for s, n in enumerate(counts):
            names = [f"{s}/{b}" for b in range(max(1, -(-n // self.rows)))]
            for name in names:
                self._h5.create_dataset(f"{name}/x", (0, width), np.float32,
                                        maxshape=(None, width), chunks=(chunk, width))
                self._h5.create_dataset(f"{name}/y", (0,), np.float32, maxshape=(None,))
            self.names.append(names)
        flat = [name for names in self.names for name in names]
        offsets = np.cumsum([0, *(len(names) for names in self.names)])
        for c, (source, label) in enumerate(zip(sources, (1.0, 0.0), strict=True)):
            target = np.full(len(source), -1, dtype=np.int64)  # block of every chosen row
            for s, rows in enumerate(index[c]):
                target[rows] = offsets[s] + rng.integers(0, len(self.names[s]), len(rows))
            for start in range(0, len(source), self.rows):
                stop = min(start + self.rows, len(source))
                where = target[start:stop]
                if not (where >= 0).any():
                    continue
                x = source.read(start, stop)
                for key in np.unique(where[where >= 0]):
                    self._append(flat[key], x[where == key], label)
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def _append(self, name: str, x: np.ndarray, label: float) -> None:
        xs, ys = self._h5[f"{name}/x"], self._h5[f"{name}/y"]
        n = len(xs)
        xs.resize(n + len(x), axis=0)
        ys.resize(n + len(x), axis=0)
        xs[n:] = x
        ys[n:] = label

    def load(self, split: int, k: int, device: torch.device,
             scale: tuple[np.ndarray, np.ndarray] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Block ``k`` of a split as tensors (kept when the split has a single block)."""
        name = self.names[split][k]
        if name in self._cache:
            return self._cache[name]
        x = self._h5[f"{name}/x"][:]
        if scale is not None:
            x -= scale[0]
            x /= scale[1]
        out = torch.from_numpy(x).to(device), torch.from_numpy(self._h5[f"{name}/y"][:]).to(device)
        if len(self.names[split]) == 1:
            self._cache[name] = out
        return out

    def scale(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and width of the training rows (float64 sums over the blocks)."""
        total, squares, n = 0.0, 0.0, 0
        for name in self.names[0]:
            x = self._h5[f"{name}/x"][:].astype(np.float64)
            total = total + x.sum(axis=0)
            squares = squares + np.square(x).sum(axis=0)
            n += len(x)
        mean = np.asarray(total) / n
        std = np.sqrt(np.maximum(np.asarray(squares) / n - mean**2, 0.0)) + 1e-6
        return mean.astype(np.float32), std.astype(np.float32)

    def close(self) -> None:
        self._cache.clear()
        self._h5.close()


def _predict(model: torch.nn.Module, x: torch.Tensor, batch: int) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        out = [torch.sigmoid(model(x[i : i + batch])).squeeze(1) for i in range(0, len(x), batch)]
    return torch.cat(out).double().cpu().numpy()


def _bce(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def run_classifier(reference: np.ndarray | RowSource, generated: np.ndarray | RowSource,
                   mode: str = "cls-low", protocol: str | ClassifierProtocol = "fast",
                   seed: int = 0, progress: bool = False, n_bootstrap: int = 100,
                   device: str | None = None, image_shape: tuple[int, int, int] | None = None,
                   n_scalars: int | None = None) -> ClassifierResult:
    """Train and evaluate a classifier between two input matrices (rows = showers).

    The inputs are dealt into blocks of at most ``BLOCK_BYTES`` in a temporary file and read
    back one block at a time, so memory does not grow with the number of showers (a matrix or a
    :class:`~caloforge.evaluate.classifier_inputs.RowSource` built on demand, e.g. from a
    feature table on disk). Each epoch visits the training blocks in random order and shuffles
    within each; with one block per split (up to ``BLOCK_BYTES`` of inputs) this is plain
    shuffled mini-batch training.

    Arguments:
        reference: Reference inputs (label 1), ``(N_r, D)``.
        generated: Generated inputs (label 0), ``(N_g, D)``.
        mode: Name of the input mode, recorded in the result; with ``cls-resnet`` a protocol
            name selects from :data:`RESNET_PROTOCOLS`.
        protocol: ``fast``, ``challenge`` or a custom :class:`ClassifierProtocol`.
        seed: Seeds the splits, the initialisation and the batches.
        progress: Show a progress bar over epochs.
        n_bootstrap: Resamples for the AUC uncertainty.
        device: Torch device (default: CUDA when available, else CPU).
        image_shape: ``(layers, alpha, r)`` of the ResNet's image (default: the reference
            source's ``image_shape``, as :class:`~caloforge.evaluate.classifier_inputs.VoxelRows`
            of ``cls-resnet`` carry it).
        n_scalars: Leading non-image inputs per row (default: the source's, else 1).

    Returns:
        The :class:`ClassifierResult`.
    """
    table = RESNET_PROTOCOLS if mode == "cls-resnet" else PROTOCOLS
    proto = table[protocol] if isinstance(protocol, str) else protocol
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    sources = [as_rows(reference), as_rows(generated)]
    n = min(len(sources[0]), len(sources[1]))
    chosen = [np.sort(rng.permutation(len(a))[:n]) for a in sources]
    index = [_split(c, rng) for c in chosen]
    width = sources[0].read(0, 1).shape[1]
    image_shape = image_shape or getattr(sources[0], "image_shape", None)
    n_scalars = n_scalars or getattr(sources[0], "n_scalars", 1)
    with seeded_init(seed):  # the initialisation draws from torch's global RNG, restored after
        model = _model(width, proto, image_shape, n_scalars)  # checks shapes before any work
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    with tempfile.TemporaryDirectory(prefix="caloforge-classifier-") as folder:
        blocks = _Blocks(sources, index, width, rng, folder)
        try:
            best_epoch, epochs_run, (p_test, y_te), (p_raw, y_va) = _train(
                blocks, model, proto, dev, seed, progress, mode)
        finally:
            blocks.close()
    iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6)
    iso.fit(p_test, y_te)
    p_val = iso.predict(p_raw)
    auc = float(roc_auc_score(y_va, p_val))
    boots = []
    for _ in range(n_bootstrap):
        idx = rng.integers(0, len(y_va), len(y_va))
        if 0 < y_va[idx].sum() < len(idx):
            boots.append(roc_auc_score(y_va[idx], p_val[idx]))
    fpr, tpr, _ = roc_curve(y_va, p_val)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
    return ClassifierResult(
        mode=mode, protocol=proto.name, auc=auc, auc_err=float(np.std(boots)) if boots else 0.0,
        jsd=(np.log(2.0) - _bce(p_val, y_va)) / np.log(2.0),
        accuracy=float(((p_val > 0.5) == y_va).mean()), best_epoch=best_epoch,
        epochs_run=epochs_run, n_per_class=n, seconds=time.perf_counter() - t0,
        roc_fpr=fpr[keep].round(5).tolist(), roc_tpr=tpr[keep].round(5).tolist())


def _predict_split(model: torch.nn.Module, blocks: _Blocks, split: int, device: torch.device,
                   scale: tuple[np.ndarray, np.ndarray] | None, batch: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and labels of one split, block by block."""
    preds, labels = [], []
    for k in range(len(blocks.names[split])):
        x, y = blocks.load(split, k, device, scale)
        preds.append(_predict(model, x, batch))
        labels.append(y.double().cpu().numpy())
    return np.concatenate(preds), np.concatenate(labels)


def _train(blocks: _Blocks, model: torch.nn.Module, proto: ClassifierProtocol,
           dev: torch.device, seed: int, progress: bool, mode: str
           ) -> tuple[int, int, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Best epoch, epochs run, and the best model's test and validation predictions."""
    scale = blocks.scale() if proto.standardise else None
    model = model.to(dev)
    optimizer = torch.optim.AdamW if proto.optimizer == "adamw" else torch.optim.Adam
    optim = optimizer(model.parameters(), lr=proto.lr)
    predict_batch = 10_000 if proto.resnet is None else proto.batch_size
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen_t = torch.Generator().manual_seed(seed)
    best_acc, best_epoch, best_state, epochs_run = -1.0, 0, None, 0
    for epoch in tqdm(range(proto.epochs), disable=not progress, desc=f"{mode} ({proto.name})"):
        model.train()
        for b in torch.randperm(len(blocks.names[0]), generator=gen_t).tolist():
            xt, yt = blocks.load(0, b, dev, scale)
            order = torch.randperm(len(xt), generator=gen_t).to(dev)
            for i in range(0, len(xt), proto.batch_size):
                batch = order[i : i + proto.batch_size]
                if proto.resnet is not None and len(batch) < 2:  # batch norm needs two rows
                    continue
                optim.zero_grad()
                loss = loss_fn(model(xt[batch]).squeeze(1), yt[batch])
                loss.backward()
                optim.step()
        epochs_run = epoch + 1
        p_test, y_te = _predict_split(model, blocks, 1, dev, scale, predict_batch)
        acc = float(((p_test > 0.5) == y_te).mean())
        if acc > best_acc:
            best_acc, best_epoch, best_state = acc, epoch + 1, copy.deepcopy(model.state_dict())
        elif proto.patience is not None and epoch + 1 - best_epoch >= proto.patience:
            break
    assert best_state is not None
    model.load_state_dict(best_state)
    return (best_epoch, epochs_run, _predict_split(model, blocks, 1, dev, scale, predict_batch),
            _predict_split(model, blocks, 2, dev, scale, predict_batch))
