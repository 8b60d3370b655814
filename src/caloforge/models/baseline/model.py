"""Per energy bin and voxel: how often the voxel is hit, and the mean and spread of
``log(voxel / E_inc)`` when it is. Fitted by statistics in one streamed epoch (no optimizer)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from caloforge.models.base import Conditions, StepContext

__all__ = ["BaselineConfig", "VoxelStatistics"]

#: Smallest spread of log(voxel / E_inc) (a voxel hit with nearly one energy).
SIGMA_MIN = 0.05


@dataclass
class BaselineConfig:
    """Settings (``e_min_mev``, ``e_max_mev``, ``n_voxels`` are filled from the data).

    Attributes:
        energy_bins: Log-spaced bins of the incident energy.
        zero_below_mev: Voxels at or below this energy count as empty (the readout threshold).
    """

    energy_bins: int = 8
    zero_below_mev: float = 0.0
    e_min_mev: float = 1.0
    e_max_mev: float = 2.0
    n_voxels: int = 1


class VoxelStatistics(nn.Module):
    """A shower generator and density with independent voxels (a reference point, not a model
    of correlations). ``log_prob`` is per MeV for each hit voxel and a probability for each
    empty one.

    Example:
        >>> m = VoxelStatistics(BaselineConfig(energy_bins=2, e_min_mev=1e3, e_max_mev=1e5,
        ...                                    n_voxels=3))
        >>> batch = {"energies": torch.tensor([2e3, 5e4]), "voxels": torch.rand(2, 3) * 100}
        >>> _ = m.training_step(batch, None)
        >>> c = Conditions.from_batch(batch)
        >>> m.sample(c, generator=torch.Generator().manual_seed(0)).shape, m.log_prob(
        ...     batch["voxels"], c).shape
        (torch.Size([2, 3]), torch.Size([2]))
    """

    monitor = "loss"
    #: What ``log_prob`` is a density of (commands print it beside the values).
    density_unit = "per MeV for hit voxels, a probability for empty ones"

    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        k, v = config.energy_bins, config.n_voxels
        edges = torch.linspace(math.log(config.e_min_mev), math.log(config.e_max_mev), k + 1)
        self.register_buffer("inner_edges", edges[1:-1].double())
        for name, shape in (("count", (k, 1)), ("hits", (k, v)), ("s1", (k, v)), ("s2", (k, v))):
            self.register_buffer(name, torch.zeros(shape, dtype=torch.float64))

    def _bins(self, energy: Tensor) -> Tensor:
        return torch.searchsorted(self.inner_edges, energy.double().log().contiguous())

    def _logx(self, voxels: Tensor, energy: Tensor) -> tuple[Tensor, Tensor]:
        hit = voxels > self.config.zero_below_mev
        x = torch.where(hit, voxels.double() / energy.double()[:, None], 1.0)
        return hit, x.log()

    def training_step(self, batch: dict[str, Tensor], ctx: StepContext | None
                      ) -> Mapping[str, Tensor]:
        """Add the batch to the sums (no gradients)."""
        bins = self._bins(batch["energies"])
        hit, lx = self._logx(batch["voxels"], batch["energies"])
        self.count.index_add_(0, bins, torch.ones_like(self.count[bins]))
        self.hits.index_add_(0, bins, hit.double())
        self.s1.index_add_(0, bins, lx)
        self.s2.index_add_(0, bins, lx.square())
        return {}

    def _stats(self, bins: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Hit probability (Laplace-smoothed), mean and width of log x per shower's bin; a
        voxel hit fewer than twice in its bin takes its statistics over all bins."""
        few = self.hits < 2
        hits, s1, s2 = (torch.where(few, t.sum(0), t) for t in (self.hits, self.s1, self.s2))
        n = hits.clamp_min(1.0)
        mu = s1 / n
        sigma = (s2 / n - mu.square()).clamp_min(SIGMA_MIN**2).sqrt()
        p = (self.hits + 1.0) / (self.count + 2.0)
        return p[bins], mu[bins], sigma[bins]

    def sample(self, conditions: Conditions, *, generator: torch.Generator) -> Tensor:
        """Independent voxels: hit with their probability, log-normal energy when hit
        (float32: a ds3 batch of 1000 stays near 1 GB)."""
        p, mu, sigma = (t.float() for t in self._stats(self._bins(conditions.energy)))
        hit = torch.rand(p.shape, generator=generator, device=p.device) < p
        del p
        x = sigma.mul_(torch.randn(mu.shape, generator=generator, device=mu.device)).add_(mu)
        x = x.exp_().mul_(conditions.energy.float()[:, None])
        return x.masked_fill_(~hit, 0.0)

    def log_prob(self, voxels: Tensor, conditions: Conditions, *,
                 generator: torch.Generator | None = None) -> Tensor:
        """``sum_hit [log p + log N(log x; mu, sigma) - log voxel] + sum_empty log(1 - p)``."""
        p, mu, sigma = self._stats(self._bins(conditions.energy))
        hit, lx = self._logx(voxels, conditions.energy)
        normal = torch.distributions.Normal(mu, sigma).log_prob(lx)
        log_voxel = lx + conditions.energy.double().log()[:, None]
        per_voxel = torch.where(hit, p.log() + normal - log_voxel, torch.log1p(-p))
        return per_voxel.sum(1)

    def validation_step(self, batch: dict[str, Tensor], ctx: StepContext | None
                        ) -> Mapping[str, Tensor]:
        """Negative log-likelihood per voxel."""
        nll = -self.log_prob(batch["voxels"], Conditions.from_batch(batch))
        return {"loss": nll.mean() / self.config.n_voxels}
