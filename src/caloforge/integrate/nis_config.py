"""Settings of neural importance sampling (``madnis``), with the figures they were chosen by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caloforge.errors import InputError
from caloforge.integrate.names import ALLOCATIONS, LOSSES, VEGAS_MAPS

__all__ = ["PILOT_CALLS", "NISConfig"]

#: Flat calls that fix the scale of the integrand before NIS training.
PILOT_CALLS = 1000


@dataclass
class NISConfig:
    """Neural importance sampling settings (``madnis``).

    The defaults are the single-channel settings measured best on Drell-Yan + Z' (400k
    training calls; ``benchmarks/integrate_scan.py``, figures at seed 0 below, the efficiency
    moves by up to 0.1 between seeds); :meth:`for_channels` gives the multi-channel ones.

    Attributes:
        batch_size: Points per training step (each a fresh integrand call batch).
        learning_rate: Adam learning rate (cosine decay over the training).
        loss: ``renyi`` (default with one channel; :class:`~caloforge.integrate.losses.
            AnnealedRenyi`), ``variance`` (stratified in multi-channel mode) or ``kl``. Behind
            a VEGAS grid the variance loss gave relative std 0.086 against 0.138 with KL; with
            3 channels and no grid it was worse than KL (0.48 against 0.15). The Rényi loss
            trades some of the variance loss's relative std for a shorter weight tail: behind
            the linear 1024-bin VEGAS map (order 32), over seeds 0-2
            (``benchmarks/integrate.py``) unweighting efficiency 0.65-0.69 and relative std
            0.115-0.118, against 0.37-0.49 and 0.087-0.089; on 100k calls it doubled the
            efficiency too but nearly doubled the relative std. With today's defaults on 100k
            + 50k calls (seed 0): efficiency 0.76, relative std 0.14 (plain VEGAS 0.35, 0.43).
        renyi_alpha_start, renyi_alpha, renyi_ramp: The Rényi order rises geometrically from
            ``renyi_alpha_start`` (2: the variance optimum) to ``renyi_alpha`` over the first
            ``renyi_ramp`` share of the training steps. Behind the smooth 512-bin map, order
            64 gave efficiency 0.79-0.82 and relative std 0.101-0.106 over seeds 0-4; order 32
            0.74-0.79 and 0.096-0.100.
        buffered_steps: Extra optimisation steps on buffered samples after each online step
            (re-using integrand values; no new calls).
        buffer_capacity: Samples kept for buffered training.
        layers, units, bins: Flow size (per channel network). Behind the VEGAS grid (variance
            loss), 32 spline bins: relative std 0.086 (16: 0.090, 64: 0.078 at 1.8x the time).
        learned_weights: Train channel weights on top of the prior: ``madnis``' network of
            the phase-space point, here with the log prior weights as extra inputs, trained by
            the stratified variance (:class:`~caloforge.integrate.channels.ChannelWeightLoss`;
            the flows' KL and Rényi losses give it no gradient, so before issue 31 the
            "learned" weights stayed the prior and only the random streams moved).
        channel_weight_lr: Learning rate of the channel-weight network over the flows'.
        channel_weight_share: Share of the training steps during which the weights learn;
            then they are frozen (``madnis``' ``freeze_cwnet_iteration``) and the flows
            finish on fixed weights.
        channel_allocation: How the final sample is shared among channels: ``unweighting``
            (shares ~ I_c / eff_c from a pilot, equal largest weights in every channel, see
            :func:`~caloforge.integrate.channels.sample_for_unweighting`), ``variance``
            (``madnis``: smallest integration error) or ``mean`` (each channel's share of the
            integral).
        allocation_pilot: Share of the evaluation calls spread evenly over the channels to
            measure their integrals and efficiencies (``unweighting`` allocation).
        uniform_channel_ratio: Share of each training batch spread evenly over the channels
            (the rest follows the channels' variances); 0.2 beat 1.0 (rel. std 0.127 vs 0.146).
        defensive: Uniform share of the sampling density (see :class:`DefensiveFlow`; 0 =
            the flow alone). It caps the weights in the flow's holes, but on Drell-Yan + Z'
            it did not pay: at 0.1, two runs gave efficiency 0.36 / 0.17 and relative std
            0.33 / 0.45 (the flow alone: 0.28-0.31 and 0.13-0.14).
        vegas_share: Share of the training calls spent adapting VEGAS grids (``madnis``'
            pre-training) that then sit in front of the flow (:class:`VegasMappedFlow`); 0 =
            no grid. Single channel, variance loss, 0.3: relative std 0.086 and efficiency
            0.41 against 0.77 / 0.07 for the flow alone (0.2 / 0.5: 0.086 / 0.083, efficiency
            0.42 / 0.37).
        vegas_bins, vegas_iterations: VEGAS bins per axis and adaptation iterations. Behind
            the smooth map (order 32, seeds 0-2), 512 bins: efficiency 0.74-0.78, relative std
            0.096-0.097; 256: 0.77-0.79, 0.115-0.122; 1024: 0.75-0.77, 0.099-0.103. Behind the
            linear map (variance loss), 512 bins: relative std 0.096, efficiency 0.23; 2048:
            0.088, 0.42.
        vegas_map: How the VEGAS bin edges are joined: ``smooth``
            (:class:`~caloforge.integrate.vegas_map.SmoothGridMap`, a monotone spline) or
            ``linear`` (VEGAS' own piecewise-linear map). Behind the linear map the weights
            step at every bin edge and, in the wide bins at the kinematic edges, fall from
            above the mean to zero across one bin, at a scale the flow does not resolve: with
            1024 bins and order 32 the smooth map raised the efficiency from 0.65-0.69 to
            0.75-0.77 and cut the relative std from 0.115-0.118 to 0.099-0.103 (seeds 0-2).
            Plain VEGAS's grid gains nothing from it (efficiency 0.374 -> 0.375 at seed 0,
            ``benchmarks/integrate_scan.py``): its largest weights come from the correlations
            between axes, which only the flow removes.
    """

    batch_size: int = 2048
    learning_rate: float = 3e-3
    loss: str = "renyi"
    buffered_steps: int = 5
    buffer_capacity: int = 20_000
    layers: int = 3
    units: int = 64
    bins: int = 32
    learned_weights: bool = False
    channel_weight_lr: float = 0.1
    channel_weight_share: float = 0.5
    channel_allocation: str = "variance"
    allocation_pilot: float = 0.1
    uniform_channel_ratio: float = 0.2
    defensive: float = 0.0
    vegas_share: float = 0.3
    vegas_bins: int = 512
    vegas_iterations: int = 10
    vegas_map: str = "smooth"
    renyi_alpha_start: float = 2.0
    renyi_alpha: float = 64.0
    renyi_ramp: float = 2.0 / 3.0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise InputError(f"unknown NIS loss '{self.loss}'",
                             f"choose one of {', '.join(LOSSES)}")
        if not 1.0 < self.renyi_alpha_start <= self.renyi_alpha:
            raise InputError(f"the Rényi orders need 1 < start <= end, not "
                             f"{self.renyi_alpha_start}, {self.renyi_alpha}",
                             "give --renyi-alpha at least the start order (default 2), e.g. 32")
        if not 0.0 < self.renyi_ramp <= 1.0:
            raise InputError(f"NISConfig.renyi_ramp must lie in (0, 1], not {self.renyi_ramp}",
                             "give the share of the training steps over which the order rises")
        if self.channel_allocation not in ALLOCATIONS:
            raise InputError(f"unknown channel allocation '{self.channel_allocation}'",
                             f"choose one of {', '.join(ALLOCATIONS)}")
        if not 0.0 < self.allocation_pilot < 1.0:
            raise InputError(f"NISConfig.allocation_pilot must lie in (0, 1), not "
                             f"{self.allocation_pilot}", "give a share such as 0.1")
        if self.vegas_map not in VEGAS_MAPS:
            raise InputError(f"unknown VEGAS map '{self.vegas_map}'",
                             f"choose one of {', '.join(VEGAS_MAPS)}")
        if not 0.0 <= self.vegas_share < 1.0:
            raise InputError(f"NISConfig.vegas_share / --vegas-share must lie in [0, 1), not "
                             f"{self.vegas_share}", "give a share such as 0.3, or 0 for no "
                             "VEGAS grid")

    @classmethod
    def for_channels(cls, channels: int, **overrides: Any) -> NISConfig:
        """The defaults for ``channels`` channels: with several, the single-channel recipe
        per channel (a smooth VEGAS grid per channel in front of its flow, the Rényi loss) and
        the final sample shared for unweighting (``channel_allocation="unweighting"``); the
        measurements behind it are in ``docs/integration.md``.

        Example:
            >>> NISConfig.for_channels(3).channel_allocation, NISConfig.for_channels(1).loss
            ('unweighting', 'renyi')
            >>> NISConfig.for_channels(3, bins=8).bins
            8
        """
        if channels > 1:
            overrides = {"channel_allocation": "unweighting", **overrides}
        return cls(**overrides)

    def pilot_calls(self, train_calls: int) -> int:
        """Calls of the flat pilot sample that sets the integrand scale."""
        return min(PILOT_CALLS, train_calls)

    def vegas_calls(self, train_calls: int) -> int:
        """Calls of the VEGAS pre-training (0 without it)."""
        return int(self.vegas_share * train_calls)

    def training_steps(self, train_calls: int) -> int:
        """Optimisation steps (online + buffered) that ``train_calls`` calls pay for."""
        flow_calls = train_calls - self.pilot_calls(train_calls) - self.vegas_calls(train_calls)
        online = max(1, flow_calls // self.batch_size)
        return online * (1 + self.buffered_steps)
