"""The MSE baseline of energy calibration: an ensemble of MLP regressors on ``log E_inc``.

Each member is a scikit-learn :class:`~sklearn.neural_network.MLPRegressor` on the standardised
``log10`` layer energies and total deposit, trained by mean squared error on the standardised
``ln E_inc``; the ensemble's estimate is the exponential of the mean prediction. Unlike the
likelihood fit, its answer leans towards where the training spectrum has most showers
(regression to the prior's bulk), which is what the calibration study measures.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from caloforge.errors import InputError
from caloforge.geometry.base import LayeredGeometry

__all__ = ["LinearCalibration", "RegressionConfig", "RegressorEnsemble", "layer_features"]

#: Added to every layer energy before the log, MeV (empty layers stay finite).
FLOOR_MEV = 1.0


def layer_features(voxels: np.ndarray, geometry: LayeredGeometry) -> np.ndarray:
    """``log10`` of the layer energies and of the total deposit (MeV), ``(N, L + 1)``.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> geo = get_geometry("calogan")
        >>> layer_features(np.ones((2, geo.n_voxels)), geo).shape
        (2, 4)
    """
    layers = geometry.layer_energies(voxels)
    total = layers.sum(1, keepdims=True)
    return np.log10(np.concatenate([layers, total], 1) + FLOOR_MEV)


@dataclass
class RegressionConfig:
    """Ensemble settings.

    Attributes:
        members: Number of regressors (different seeds).
        hidden: Hidden layer sizes.
        max_iter: Epochs at most (early stopping on a 10 % validation split).
        batch_size: Showers per step.
        seed: Seed of the first member (the others count up).
    """

    members: int = 5
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    max_iter: int = 60
    batch_size: int = 512
    seed: int = 0


class RegressorEnsemble:
    """MLP regressors of ``ln E_inc`` from layer features.

    Arguments:
        geometry: The geometry of the showers.
        config: Ensemble settings.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> from caloforge.simulate import simulate
        >>> s = simulate("calogan", n=600, seed=1, particle="photon")
        >>> cfg = RegressionConfig(members=2, max_iter=30)
        >>> ens = RegressorEnsemble(get_geometry("calogan"), cfg).fit(s.voxels, s.energies)
        >>> pred = ens.predict(s.voxels)
        >>> bool(abs(np.median(pred / s.energies) - 1) < 0.1)
        True
    """

    def __init__(self, geometry: LayeredGeometry, config: RegressionConfig | None = None) -> None:
        self.geometry = geometry
        self.config = config or RegressionConfig()
        self.members: list[Pipeline] = []
        self._shift, self._scale = 0.0, 1.0

    def fit(self, voxels: np.ndarray, energies: np.ndarray) -> RegressorEnsemble:
        """Train every member by MSE on ``ln E_inc`` (energies in MeV)."""
        energies = np.asarray(energies, dtype=np.float64)
        if len(voxels) != len(energies) or np.any(~np.isfinite(energies)) or energies.min() <= 0:
            raise InputError("regression needs one finite, positive incident energy per shower",
                             "fix the training file")
        log_e = np.log(energies)
        self._shift, self._scale = float(log_e.mean()), float(log_e.std() or 1.0)
        x, y = layer_features(voxels, self.geometry), (log_e - self._shift) / self._scale
        cfg = self.config
        self.members = []
        for k in range(cfg.members):
            reg = MLPRegressor(hidden_layer_sizes=tuple(cfg.hidden), max_iter=cfg.max_iter,
                               batch_size=cfg.batch_size, early_stopping=True,
                               n_iter_no_change=8, random_state=cfg.seed + k)
            with warnings.catch_warnings():  # max_iter is a budget, not a failure
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.members.append(make_pipeline(StandardScaler(), reg).fit(x, y))
        return self

    def predict(self, voxels: np.ndarray) -> np.ndarray:
        """The ensemble's energy estimates (MeV)."""
        if not self.members:
            raise InputError("the regressor ensemble is not trained", "call fit() first")
        x = layer_features(voxels, self.geometry)
        mean = np.mean([m.predict(x) for m in self.members], axis=0)
        return np.exp(self._shift + self._scale * mean)


@dataclass
class LinearCalibration:
    """The simplest calibration: a straight line ``D = k E + c`` fitted by least squares to the
    total deposit ``D`` against the true energy on training showers, inverted per shower,
    ``E_hat = (D - c) / k``. Fitting ``D`` on ``E`` (not ``E`` on ``D``) makes it insensitive to
    the training spectrum as long as the response is linear.

    Example:
        >>> e = np.array([1e3, 2e3, 4e3])
        >>> cal = LinearCalibration().fit(0.9 * e[:, None] + 5.0, e)
        >>> cal.predict(np.array([[905.0]])).round(6).tolist()
        [1000.0]
    """

    slope: float = 1.0
    offset: float = 0.0

    def fit(self, voxels: np.ndarray, energies: np.ndarray) -> LinearCalibration:
        """Fit ``k`` and ``c`` (MeV) on training showers."""
        deposit = np.asarray(voxels, dtype=np.float64).reshape(len(voxels), -1).sum(1)
        self.slope, self.offset = (float(v) for v in np.polyfit(energies, deposit, 1))
        if self.slope <= 0:
            raise InputError("the deposit does not grow with the energy",
                             "check the training file's energies and showers")
        return self

    def predict(self, voxels: np.ndarray) -> np.ndarray:
        """Energy estimates (MeV)."""
        deposit = np.asarray(voxels, dtype=np.float64).reshape(len(voxels), -1).sum(1)
        return np.asarray((deposit - self.offset) / self.slope)
