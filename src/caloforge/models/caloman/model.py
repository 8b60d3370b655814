"""CaloMan's networks: a conditional autoencoder (VAE or plain AE) onto a low-dimensional
manifold, then a conditional spline flow on its latent codes (arXiv:2211.15380).

Both work in CaloFlow's invertible preprocessing (:mod:`caloforge.preprocess`): a shower is the
``L + V`` standardised logit features of its layer-energy shares and per-layer voxel shares, so
a decoded point maps back to voxels (MeV) that are non-negative, sum to the decoded layer
energies and respect the readout threshold. Conditions: the standardised ``log10 E_inc`` (and
``theta`` when the data's angle varies).

* :class:`Autoencoder` — stage ``autoencoder``: ``x -> z -> x'``, trained on the reconstruction
  (``ae``) or the reconstruction plus a small KL weight (``vae``, diagonal Gaussian posterior).
* :class:`CaloMan` — stage ``latent_flow``: the frozen autoencoder and a conditional
  rational-quadratic spline MAF over its codes (posterior means); a shower generator and a
  :class:`~caloforge.models.base.NoiseSampler` (one flow inversion + one decoder pass).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from caloforge.models.base import Conditions, StepContext
from caloforge.models.flows import FlowSpec, build_flow, sample_masked
from caloforge.noise import batch_noise
from caloforge.preprocess import PreprocessedModel, PreprocessingState, Preprocessor

__all__ = ["Autoencoder", "AutoencoderConfig", "CaloMan", "CaloManConfig", "gaussian_kl", "mlp"]

Batch = dict[str, Tensor]


@dataclass
class AutoencoderConfig:
    """The autoencoder of stage 1.

    Attributes:
        kind: ``vae`` (diagonal Gaussian posterior, KL to N(0, 1) with ``kl_weight``) or ``ae``.
        latent: Latent dimension; 0 = the intrinsic dimension estimated by the family's setup.
        hidden: Hidden widths of the encoder's and decoder's MLPs.
        kl_weight: Weight of the KL term against the reconstruction (``vae``).
    """

    kind: Literal["vae", "ae"] = "vae"
    latent: int = 0
    hidden: list[int] = field(default_factory=lambda: [512, 512, 512])
    kl_weight: float = 1e-3


@dataclass
class CaloManConfig:
    """A CaloMan model: preprocessing (fitted by the setup), autoencoder and latent flow."""

    preprocessing: PreprocessingState = field(default_factory=PreprocessingState)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    flow: FlowSpec = field(default_factory=lambda: FlowSpec(transforms=4, hidden=[128, 128]))


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given sizes with SiLU between them (none after the last).

    Example:
        >>> mlp([3, 8, 2])
        Sequential(
          (0): Linear(in_features=3, out_features=8, bias=True)
          (1): SiLU()
          (2): Linear(in_features=8, out_features=2, bias=True)
        )
    """
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def gaussian_kl(mean: Tensor, log_var: Tensor) -> Tensor:
    """``KL(N(mean, exp(log_var)) || N(0, 1))`` summed over the last dimension (nats).

    Example:
        >>> gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3)).tolist()
        [0.0]
    """
    return 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(-1)


class Autoencoder(PreprocessedModel, nn.Module):
    """Conditional autoencoder in CaloFlow's preprocessed shower space.

    Arguments:
        config: The model config (preprocessing fitted, ``autoencoder.latent`` >= 1).

    Example:
        >>> cfg = CaloManConfig(PreprocessingState(layer_sizes=[2, 3]),
        ...                     AutoencoderConfig(latent=2, hidden=[16]))
        >>> ae = Autoencoder(cfg)
        >>> batch = {"energies": torch.full((4,), 1e3), "voxels": torch.rand(4, 5) * 50}
        >>> ae.fit_preprocessing(batch)
        >>> x, c = ae.features(batch)
        >>> ae.encode(x, c).shape, ae.decode_voxels(ae.encode(x, c), batch["energies"]).shape
        (torch.Size([4, 2]), torch.Size([4, 5]))
    """

    def __init__(self, config: CaloManConfig) -> None:
        super().__init__()
        self.config = config
        self.pre = Preprocessor(config.preprocessing)
        ae = config.autoencoder
        if ae.latent < 1:
            raise ValueError("autoencoder.latent must be set (>= 1) before building the model")
        self.latent = ae.latent
        self.n_features = self.pre.n_layers + self.pre.n_voxels
        n_c = self.pre.context1_features
        out = 2 * ae.latent if ae.kind == "vae" else ae.latent
        self.encoder = mlp([self.n_features + n_c, *ae.hidden, out])
        self.decoder = mlp([ae.latent + n_c, *ae.hidden, self.n_features])

    def features(self, batch: Batch, generator: torch.Generator | None = None
                 ) -> tuple[Tensor, Tensor]:
        """``(N, L + V)`` preprocessed features of a batch (voxels dequantised with
        ``generator``'s noise) and its ``(N, C)`` conditions."""
        voxels = self.pre.dequantize(batch["voxels"], generator)
        energies = batch["energies"]
        return (self.pre.encode(voxels, energies).float(),
                self.pre.context1(energies, batch.get("theta")))

    def posterior(self, x: Tensor, c: Tensor) -> tuple[Tensor, Tensor | None]:
        """Posterior mean and log-variance (None for ``ae``) of features ``x`` given ``c``."""
        h = self.encoder(torch.cat([x, c], 1))
        if self.config.autoencoder.kind == "ae":
            return h, None
        mean, log_var = h.chunk(2, 1)
        return mean, log_var.clamp(-20.0, 10.0)

    def encode(self, x: Tensor, c: Tensor) -> Tensor:
        """Latent codes (posterior means) of features ``x``."""
        return self.posterior(x, c)[0]

    def decode(self, z: Tensor, c: Tensor) -> Tensor:
        """Features from latent codes."""
        return self.decoder(torch.cat([z, c], 1))

    def to_voxels(self, x: Tensor, energies: Tensor) -> Tensor:
        """Preprocessed features -> voxels (MeV): layer energies, then shares within layers."""
        w, y = x.split([self.pre.n_layers, self.pre.n_voxels], 1)
        layers = self.pre.decode_layers(w, energies)
        return self.pre.decode_voxels(y, layers)

    def decode_voxels(self, z: Tensor, energies: Tensor, theta: Tensor | None = None) -> Tensor:
        """Latent codes -> voxels (MeV)."""
        return self.to_voxels(self.decode(z, self.pre.context1(energies, theta)), energies)

    def losses(self, batch: Batch, generator: torch.Generator | None) -> dict[str, Tensor]:
        """Per-feature reconstruction (half squared error) and KL terms, and their sum."""
        x, c = self.features(batch, generator)
        mean, log_var = self.posterior(x, c)
        if log_var is None:
            z, kl = mean, torch.zeros(len(x), device=x.device)
        else:
            eps = batch_noise(torch.randn, mean.shape, generator, device=mean.device)
            z, kl = mean + (0.5 * log_var).exp() * eps.to(mean.dtype), gaussian_kl(mean, log_var)
        recon = 0.5 * (self.decode(z, c) - x).square().sum(1)
        beta = self.config.autoencoder.kl_weight
        return {"loss": (recon + beta * kl).mean() / self.n_features,
                "recon": recon.mean().detach() / self.n_features,
                "kl": kl.mean().detach() / self.latent}

    def training_step(self, batch: Batch, ctx: StepContext) -> Mapping[str, Tensor]:
        """The autoencoder's loss per feature (``recon + kl_weight * kl``)."""
        return self.losses(batch, ctx.generator)

    validation_step = training_step


class CaloMan(nn.Module):
    """The frozen autoencoder and a conditional RQ-spline MAF on its standardised codes.

    The codes are standardised by the mean and width of the first training batch (ActNorm's
    data-dependent initialisation; stored as buffers, so resumed and reloaded models agree).

    Arguments:
        config: The model config.
        autoencoder: The trained stage-1 model (None: an empty one, to load weights into).

    Example:
        >>> cfg = CaloManConfig(PreprocessingState(layer_sizes=[2, 3]),
        ...                     AutoencoderConfig(latent=2, hidden=[16]),
        ...                     FlowSpec(transforms=1, hidden=[8], bins=4))
        >>> model = CaloMan(cfg)
        >>> model.autoencoder.fit_preprocessing({"energies": torch.full((4,), 1e3),
        ...                                      "voxels": torch.rand(4, 5) * 50})
        >>> c = Conditions(torch.full((3,), 1e3))
        >>> model.sample(c, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([3, 5])
    """

    def __init__(self, config: CaloManConfig, autoencoder: Autoencoder | None = None) -> None:
        super().__init__()
        self.config = config
        self.autoencoder = autoencoder if autoencoder is not None else Autoencoder(config)
        self.autoencoder.requires_grad_(False)
        ae = self.autoencoder
        self.flow = build_flow(ae.latent, ae.pre.context1_features, config.flow)
        self.register_buffer("z_mean", torch.zeros(ae.latent))
        self.register_buffer("z_std", torch.ones(ae.latent))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    @property
    def condition_names(self) -> tuple[str, ...]:
        """The conditions the model needs."""
        return self.autoencoder.condition_names

    def codes(self, batch: Batch, generator: torch.Generator | None = None
              ) -> tuple[Tensor, Tensor]:
        """Standardised latent codes of a batch (posterior means) and its conditions."""
        with torch.no_grad():
            x, c = self.autoencoder.features(batch, generator)
            z = self.autoencoder.encode(x, c)
            if not bool(self.initialised):
                self.z_mean.copy_(z.mean(0))
                self.z_std.copy_(z.std(0).clamp_min(1e-6) if len(z) > 1 else torch.ones_like(
                    self.z_std))
                self.initialised.fill_(True)
        return (z - self.z_mean) / self.z_std, c

    def training_step(self, batch: Batch, ctx: StepContext) -> Mapping[str, Tensor]:
        """The flow's negative log-likelihood of the standardised codes, per latent dimension."""
        z, c = self.codes(batch, ctx.generator)
        return {"loss": -self.flow(c).log_prob(z).mean() / self.autoencoder.latent}

    validation_step = training_step

    @property
    def latent_features(self) -> int:
        """Gaussian noise per shower: the latent dimension."""
        return self.autoencoder.latent

    def draw_noise(self, n: int, *, generator: torch.Generator,
                   device: torch.device | None = None) -> Tensor:
        """The flow's base draws of ``n`` showers, ``(n, latent)`` float32."""
        return torch.randn((n, self.latent_features), generator=generator, device=device)

    def sample_from_noise(self, noise: Tensor, conditions: Conditions) -> Tensor:
        """Showers (voxels in MeV) from base draws: flow inversion, then one decoder pass."""
        ae = self.autoencoder
        c = ae.pre.context1(conditions.energy, conditions.theta)
        z = sample_masked(self.flow, c, z=noise) * self.z_std + self.z_mean
        return ae.to_voxels(ae.decode(z, c), conditions.energy)

    def sample(self, conditions: Conditions, *, generator: torch.Generator) -> Tensor:
        """Showers (voxels in MeV) for the given conditions."""
        noise = self.draw_noise(len(conditions), generator=generator,
                                device=conditions.energy.device)
        return self.sample_from_noise(noise, conditions)
