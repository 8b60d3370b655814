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

Both protocols take raw inputs, as the CaloChallenge did, and need samples of order 10k showers
per class: on caloforge reference data, voxel energies scaled by 1.05 at E_inc >= 64 GeV give
a ``fast`` cls-low AUC of 0.998 with 20k showers per class but only 0.66 with 3.4k (and cls-high
0.83 and 0.49), although E_tot/E_inc alone separates them with an AUC of 0.998. Quote the
sample size with every AUC.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score, roc_curve
from tqdm.auto import tqdm

__all__ = ["PROTOCOLS", "ClassifierProtocol", "ClassifierResult", "run_classifier"]


@dataclass(frozen=True)
class ClassifierProtocol:
    """Architecture and training schedule of a classifier test."""

    name: str
    hidden: tuple[int, ...]
    lr: float
    batch_size: int
    epochs: int
    patience: int | None
    standardise: bool


PROTOCOLS: dict[str, ClassifierProtocol] = {
    "challenge": ClassifierProtocol("challenge", (2048, 2048, 2048), 2e-4, 1000, 50, None, False),
    "fast": ClassifierProtocol("fast", (1024, 1024), 5e-4, 1000, 80, 20, False),
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


def _split(rows: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Train (60 %), test (20 %) and validation (20 %) rows."""
    idx = rng.permutation(len(rows))
    a, b = int(0.6 * len(rows)), int(0.8 * len(rows))
    return [rows[idx[:a]], rows[idx[a:b]], rows[idx[b:]]]


def _gather(reference: np.ndarray, generated: np.ndarray, index: list[list[np.ndarray]]
            ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """One float32 matrix holding the train, test and validation rows in that order (each split
    reference rows first), filled in chunks so that no second full copy is made."""
    splits = list(zip(*index, strict=True))
    total = sum(len(r) + len(g) for r, g in splits)
    x = np.empty((total, reference.shape[1]), dtype=np.float32)
    y = np.empty(total, dtype=np.float32)
    pos, bounds = 0, []
    for r, g in splits:
        for source, rows, label in ((reference, r, 1.0), (generated, g, 0.0)):
            for k in range(0, len(rows), 10_000):
                part = rows[k : k + 10_000]
                x[pos : pos + len(part)] = source[part]
                y[pos : pos + len(part)] = label
                pos += len(part)
        bounds.append(pos)
    return x, y, bounds[:-1]


def _standardise_inplace(x: np.ndarray, train: np.ndarray, chunk: int = 10_000) -> None:
    """Scale ``x`` in place by the training rows' mean and width (chunked float64 sums)."""
    total = np.zeros(x.shape[1])
    squares = np.zeros(x.shape[1])
    for k in range(0, len(train), chunk):
        part = train[k : k + chunk].astype(np.float64)
        total += part.sum(axis=0)
        squares += np.square(part).sum(axis=0)
    mean = total / len(train)
    std = np.sqrt(np.maximum(squares / len(train) - mean**2, 0.0)) + 1e-6
    for k in range(0, len(x), chunk):
        x[k : k + chunk] -= mean.astype(np.float32)
        x[k : k + chunk] /= std.astype(np.float32)


def _predict(model: torch.nn.Module, x: torch.Tensor, batch: int = 10_000) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        out = [torch.sigmoid(model(x[i : i + batch])).squeeze(1) for i in range(0, len(x), batch)]
    return torch.cat(out).double().cpu().numpy()


def _bce(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def run_classifier(reference: np.ndarray, generated: np.ndarray, mode: str = "cls-low",
                   protocol: str | ClassifierProtocol = "fast", seed: int = 0,
                   progress: bool = False, n_bootstrap: int = 100,
                   device: str | None = None) -> ClassifierResult:
    """Train and evaluate a classifier between two input matrices (rows = showers).

    Arguments:
        reference: Reference inputs (label 1), ``(N_r, D)``.
        generated: Generated inputs (label 0), ``(N_g, D)``.
        mode: Name of the input mode, recorded in the result.
        protocol: ``fast``, ``challenge`` or a custom :class:`ClassifierProtocol`.
        seed: Seeds the splits, the initialisation and the batches.
        progress: Show a progress bar over epochs.
        n_bootstrap: Resamples for the AUC uncertainty.
        device: Torch device (default: CUDA when available, else CPU).

    Returns:
        The :class:`ClassifierResult`.
    """
    proto = PROTOCOLS[protocol] if isinstance(protocol, str) else protocol
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    n = min(len(reference), len(generated))
    chosen = [rng.permutation(len(a))[:n] for a in (reference, generated)]
    index = [_split(c, rng) for c in chosen]
    x, y, bounds = _gather(reference, generated, index)
    x_tr, x_te, x_va = np.split(x, bounds)  # views: no copies of the inputs
    y_tr, y_te, y_va = np.split(y, bounds)
    if proto.standardise:
        _standardise_inplace(x, x_tr)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    xt, yt, x_test, x_val = (torch.from_numpy(np.ascontiguousarray(a)).to(dev)
                             for a in (x_tr, y_tr, x_te, x_va))
    model = _mlp(xt.shape[1], proto.hidden).to(dev)
    optim = torch.optim.Adam(model.parameters(), lr=proto.lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen_t = torch.Generator().manual_seed(seed)
    best_acc, best_epoch, best_state, epochs_run = -1.0, 0, None, 0
    for epoch in tqdm(range(proto.epochs), disable=not progress, desc=f"{mode} ({proto.name})"):
        model.train()
        order = torch.randperm(len(xt), generator=gen_t).to(dev)
        for i in range(0, len(xt), proto.batch_size):
            batch = order[i : i + proto.batch_size]
            optim.zero_grad()
            loss = loss_fn(model(xt[batch]).squeeze(1), yt[batch])
            loss.backward()
            optim.step()
        epochs_run = epoch + 1
        acc = float(((_predict(model, x_test) > 0.5) == y_te).mean())
        if acc > best_acc:
            best_acc, best_epoch, best_state = acc, epoch + 1, copy.deepcopy(model.state_dict())
        elif proto.patience is not None and epoch + 1 - best_epoch >= proto.patience:
            break
    assert best_state is not None
    model.load_state_dict(best_state)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6)
    iso.fit(_predict(model, x_test), y_te)
    p_val = iso.predict(_predict(model, x_val))
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
