"""CaloFlow preprocessing: invertible maps between showers (MeV) and flow space, with Jacobians.

Flow I sees how the energy splits among layers, Flow II the voxels normalised per layer
(CaloFlow, arXiv:2106.05285):

* dequantisation: ``U(0, noise_mev)`` added to every voxel before training (generated voxels
  below the readout threshold are set to 0 again);
* Flow I targets: ``u_0 = sum_i E_i / (k E_inc)`` with ``k = 1.05 max(sum_i E_i / E_inc)`` over
  the training set, ``u_i = E_{i-1} / sum_{j >= i-1} E_j`` for the first ``L - 1`` layers;
* Flow II targets: ``x = voxel / E_layer``;
* both logit-transformed, ``logit(alpha + (1 - 2 alpha) v)`` with ``alpha = 1e-6``, then
  standardised with training-set means and widths;
* conditions: ``log10(E_inc / energy_scale_mev)`` (+ theta) standardised; Flow II also sees the
  standardised ``log10`` layer energies.

:meth:`Preprocessor.encode_layers` and :meth:`Preprocessor.encode_voxels` return the
log-Jacobian of their map, so a flow's log-likelihood can be quoted in physical voxel space
(per MeV). As in CaloFlow, ``p(voxels | E_inc) = p_I(E_layer | E_inc) p_II(x | E_layer, E_inc)``
treats the per-layer normalised voxels as free coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from caloforge.preprocess.transforms import dequantize, expit, layer_sums, logit

__all__ = ["LAYER_FLOOR_MEV", "PreprocessedModel", "PreprocessingState", "Preprocessor",
           "fit_state"]

#: Flow II's context sees layer energies clamped here (MeV): far below any dequantised training
#: layer, so only generated layers of ~0 energy are clamped, and their context no longer
#: depends on float rounding at the 1e-12 level.
LAYER_FLOOR_MEV = 1e-6


@dataclass
class PreprocessingState:
    """Settings and fitted statistics of the preprocessing (stored in a run's config).

    Attributes:
        layer_sizes: Voxels per layer, in file order.
        energy_scale_mev: Conditioning uses ``log10(E_inc / energy_scale_mev)``.
        noise_mev: Width of the uniform dequantisation noise per voxel, MeV.
        alpha: Logit regulariser.
        threshold_mev: Generated voxels below it are set to 0 (the readout threshold).
        renormalize: Renormalise generated voxels to the layer energy from Flow I.
        use_theta: Condition on the polar angle too.
        k: Flow I total-energy scale (fitted).
        cond_mean, cond_std, theta_mean, theta_std: Condition standardisation (fitted).
        u_mean, u_std: Flow I feature standardisation (fitted).
        y_mean, y_std: Flow II feature standardisation (fitted).
        le_mean, le_std: Standardisation of ``log10`` layer energies for Flow II's context.
    """

    layer_sizes: list[int] = field(default_factory=list)
    energy_scale_mev: float = 1000.0
    noise_mev: float = 1e-3
    alpha: float = 1e-6
    threshold_mev: float = 0.0
    renormalize: bool = True
    use_theta: bool = False
    k: float = 1.0
    cond_mean: float = 0.0
    cond_std: float = 1.0
    theta_mean: float = 0.0
    theta_std: float = 1.0
    u_mean: list[float] = field(default_factory=list)
    u_std: list[float] = field(default_factory=list)
    y_mean: list[float] = field(default_factory=list)
    y_std: list[float] = field(default_factory=list)
    le_mean: list[float] = field(default_factory=list)
    le_std: list[float] = field(default_factory=list)

    @property
    def fitted(self) -> bool:
        """Whether :meth:`Preprocessor.fit` has filled the statistics."""
        return len(self.y_mean) == sum(self.layer_sizes) > 0


class Preprocessor(nn.Module):
    """The invertible CaloFlow preprocessing as a module (its statistics move with ``.to``).

    Arguments:
        state: Settings; unfitted statistics are filled by :meth:`fit`.

    Example:
        >>> pre = Preprocessor(PreprocessingState(layer_sizes=[2, 3]))
        >>> g = torch.Generator().manual_seed(0)
        >>> e = torch.full((64,), 1000.0)
        >>> vox = torch.rand(64, 5, generator=g) * 100
        >>> pre.fit(vox, e, generator=g)
        >>> layers = pre.layer_energies(vox)
        >>> w, _ = pre.encode_layers(layers, e)
        >>> torch.allclose(pre.decode_layers(w, e), layers, rtol=1e-4)
        True
    """

    def __init__(self, state: PreprocessingState) -> None:
        super().__init__()
        self.state = state
        self.n_layers = len(state.layer_sizes)
        self.n_voxels = int(sum(state.layer_sizes))
        self.register_buffer("sizes", torch.tensor(state.layer_sizes, dtype=torch.long))
        # each voxel's layer: ``expand`` as a gather (exported graphs need static shapes)
        self.register_buffer("voxel_layer", torch.repeat_interleave(
            torch.arange(self.n_layers), self.sizes), persistent=False)
        self._load_stats()

    def _load_stats(self) -> None:
        s = self.state
        n_l, n_v = self.n_layers, self.n_voxels
        for name, values, n in (("u_mean", s.u_mean, n_l), ("u_std", s.u_std, n_l),
                                ("y_mean", s.y_mean, n_v), ("y_std", s.y_std, n_v),
                                ("le_mean", s.le_mean, n_l), ("le_std", s.le_std, n_l)):
            default = 0.0 if name.endswith("mean") else 1.0
            tensor = (torch.tensor(values, dtype=torch.float32) if len(values) == n
                      else torch.full((n,), default))
            if hasattr(self, name):
                getattr(self, name).copy_(tensor)
            else:
                self.register_buffer(name, tensor)

    @property
    def context1_features(self) -> int:
        """Number of Flow I condition features."""
        return 2 if self.state.use_theta else 1

    @property
    def context2_features(self) -> int:
        """Number of Flow II condition features."""
        return self.context1_features + self.n_layers

    # -- statistics -----------------------------------------------------------------------
    def fit(self, voxels: Tensor, energies: Tensor, theta: Tensor | None = None,
            generator: torch.Generator | None = None) -> None:
        """Fit ``k`` and the standardisations on training showers (MeV)."""
        s = self.state
        noisy = self.dequantize(voxels.float(), generator)
        layers = self.layer_energies(noisy)
        ratio = (layers.sum(1) / energies).max().item()
        s.k = 1.05 * ratio
        logc = torch.log10(energies / s.energy_scale_mev)
        s.cond_mean, s.cond_std = float(logc.mean()), float(logc.std().clamp_min(1e-3))
        if s.use_theta and theta is not None:
            s.theta_mean, s.theta_std = float(theta.mean()), float(theta.std().clamp_min(1e-3))
        s.u_mean, s.u_std, s.y_mean, s.y_std, s.le_mean, s.le_std = ([] for _ in range(6))
        self._load_stats()  # identity standardisation while the statistics are measured
        u, _ = self.encode_layers(layers, energies)
        y, _ = self.encode_voxels(noisy, layers)
        le = torch.log10(layers / s.energy_scale_mev)
        s.u_mean, s.u_std = u.mean(0).tolist(), u.std(0).clamp_min(1e-3).tolist()
        s.y_mean, s.y_std = y.mean(0).tolist(), y.std(0).clamp_min(1e-3).tolist()
        s.le_mean, s.le_std = le.mean(0).tolist(), le.std(0).clamp_min(1e-3).tolist()
        self._load_stats()

    # -- helpers --------------------------------------------------------------------------
    def dequantize(self, voxels: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Add ``U(0, noise_mev)`` to every voxel."""
        return dequantize(voxels, self.state.noise_mev, generator)

    def layer_energies(self, voxels: Tensor) -> Tensor:
        """Per-layer sums ``(N, V) -> (N, L)``."""
        return layer_sums(voxels, self.state.layer_sizes)

    def expand(self, per_layer: Tensor) -> Tensor:
        """Repeat a per-layer quantity over that layer's voxels ``(N, L) -> (N, V)``."""
        return per_layer.index_select(1, self.voxel_layer)

    def context1(self, energies: Tensor, theta: Tensor | None = None) -> Tensor:
        """Flow I conditions from incident energies (MeV) and, if used, theta (rad)."""
        s = self.state
        c = ((torch.log10(energies / s.energy_scale_mev) - s.cond_mean) / s.cond_std)[:, None]
        if s.use_theta:
            if theta is None:
                raise ValueError("this model is conditioned on theta; pass incident angles")
            c = torch.cat([c, ((theta - s.theta_mean) / s.theta_std)[:, None]], 1)
        return c.float()

    def context2(self, energies: Tensor, layers: Tensor, theta: Tensor | None = None) -> Tensor:
        """Flow II conditions: Flow I's plus the standardised log10 layer energies."""
        le = torch.log10(layers.clamp_min(LAYER_FLOOR_MEV) / self.state.energy_scale_mev)
        return torch.cat([self.context1(energies, theta),
                          ((le - self.le_mean) / self.le_std).float()], 1)

    # -- Flow I ---------------------------------------------------------------------------
    def encode_layers(self, layers: Tensor, energies: Tensor) -> tuple[Tensor, Tensor]:
        """Layer energies (MeV) -> standardised Flow I features, and ``log|dw/dE_layer|``."""
        s = self.state
        tails = layers.flip(1).cumsum(1).flip(1)  # S_i = sum_{j >= i} E_j
        total = tails[:, 0]
        u0 = total / (s.k * energies)
        ratios = layers[:, :-1] / tails[:, :-1].clamp_min(1e-30)
        v = torch.cat([u0[:, None], ratios], 1)
        y, dlog = logit(v.clamp(0.0, 1.0), s.alpha)
        w = (y - self.u_mean) / self.u_std
        ladj = (dlog.sum(1) - torch.log(s.k * energies)
                - torch.log(tails[:, :-1].clamp_min(1e-30)).sum(1) - torch.log(self.u_std).sum())
        return w, ladj

    def decode_layers(self, w: Tensor, energies: Tensor) -> Tensor:
        """Standardised Flow I features -> layer energies (MeV)."""
        y = w * self.u_std + self.u_mean
        # the share left after layer i is expit(-y) = 1 - expit(y), taken without the
        # cancellation of ``remaining - e_i``: tiny trailing layers keep their relative precision
        v, rest = expit(y, self.state.alpha), expit(-y, self.state.alpha)
        remaining = v[:, 0] * self.state.k * energies
        out = []
        for i in range(self.n_layers - 1):
            out.append(v[:, i + 1] * remaining)
            remaining = remaining * rest[:, i + 1]
        out.append(remaining)
        return torch.stack(out, 1)

    # -- Flow II --------------------------------------------------------------------------
    def encode_voxels(self, voxels: Tensor, layers: Tensor) -> tuple[Tensor, Tensor]:
        """Voxels (MeV) -> standardised Flow II features, and ``log|dy/dvoxels|`` at fixed
        layer energies."""
        x = voxels / self.expand(layers).clamp_min(1e-30)
        y, dlog = logit(x.clamp(0.0, 1.0), self.state.alpha)
        y = (y - self.y_mean) / self.y_std
        ladj = (dlog.sum(1) - (self.sizes * torch.log(layers.clamp_min(1e-30))).sum(1)
                - torch.log(self.y_std).sum())
        return y, ladj

    def encode(self, voxels: Tensor, energies: Tensor) -> Tensor:
        """Voxels (MeV, already dequantised if wanted) -> the ``(N, L + V)`` flow space: Flow
        I's standardised layer features, then Flow II's standardised voxel features."""
        layers = self.layer_energies(voxels)
        w, _ = self.encode_layers(layers, energies)
        y, _ = self.encode_voxels(voxels, layers)
        return torch.cat([w, y], 1)

    def decode_voxels(self, y: Tensor, layers: Tensor) -> Tensor:
        """Standardised Flow II features and layer energies -> voxels (MeV), thresholded."""
        x = expit(y * self.y_std + self.y_mean, self.state.alpha)
        if self.state.renormalize:
            sums = self.layer_energies(x)
            x = x / self.expand(sums).clamp_min(1e-30)
        voxels = x * self.expand(layers.clamp_min(0.0))
        return torch.where(voxels < max(self.state.threshold_mev, 0.0), 0.0, voxels)


def fit_state(state: PreprocessingState, geometry: object, batch: dict[str, Tensor],
              angles: bool, seed: int) -> Preprocessor:
    """Fill ``state`` for a geometry (layer sizes, readout threshold, angle conditioning) and
    fit its statistics on ``batch`` (``voxels``, ``energies``, optional ``theta``); the fitted
    preprocessor is returned, its statistics live in ``state``.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> geo = get_geometry("ds1-photons")
        >>> batch = {"voxels": torch.rand(8, geo.n_voxels), "energies": torch.full((8,), 1e3)}
        >>> state = PreprocessingState()
        >>> pre = fit_state(state, geo, batch, angles=False, seed=0)
        >>> pre.n_voxels, state.threshold_mev == geo.readout_threshold_mev, state.fitted
        (368, True, True)
    """
    state.layer_sizes = list(geometry.layer_sizes)  # type: ignore[attr-defined]
    state.threshold_mev = float(getattr(geometry, "readout_threshold_mev", 0.0) or 0.0)
    state.use_theta = angles
    pre = Preprocessor(state)
    pre.fit(batch["voxels"], batch["energies"], batch.get("theta"),
            generator=torch.Generator().manual_seed(seed))
    return pre


class PreprocessedModel:
    """What a family's module gets from holding a :class:`Preprocessor` as ``pre`` and its
    state as ``config.preprocessing``: the conditions it needs and the fit of the statistics."""

    config: Any
    pre: Preprocessor

    @property
    def condition_names(self) -> tuple[str, ...]:
        """The conditions the model needs."""
        return ("energy", "theta") if self.config.preprocessing.use_theta else ("energy",)

    def fit_preprocessing(self, batch: dict[str, Tensor], seed: int = 0) -> None:
        """Fit the preprocessing statistics on (a subset of) the training showers."""
        gen = torch.Generator().manual_seed(seed)
        self.pre.fit(batch["voxels"], batch["energies"], batch.get("theta"), generator=gen)
