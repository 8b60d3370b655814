"""Integrators compared on equal integrand calls: flat MC, VEGAS (plain and with the pole
mappings, multi-channel) and neural importance sampling with ``madnis``.

Every method returns an :class:`IntegrationResult` computed from its final weighted sample:
integral, MC error, relative standard deviation of the weights per sample and the unweighting
efficiency of ``madnis.integrator.unweighting_metrics`` (arXiv:2001.10028), plus the number of
integrand calls spent on adaptation/training and on the final sample.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import vegas
from madnis.integrator import (
    Integrand,
    Integrator,
    kl_divergence,
    stratified_variance,
    unweighting_metrics,
    variance,
)
from madnis.nn import Flow

from caloforge.errors import InputError
from caloforge.integrate.defensive import DefensiveFlow
from caloforge.integrate.diagnostics import weight_summary
from caloforge.integrate.losses import AnnealedRenyi
from caloforge.integrate.names import LOSSES, VEGAS_MAPS
from caloforge.integrate.processes import MultiChannelProcess, Process
from caloforge.integrate.vegas_map import VegasMappedFlow, vegas_grids

__all__ = ["IntegrationResult", "NISConfig", "flat", "nis", "vegas_mapped", "vegas_plain"]


#: Flat calls that fix the scale of the integrand before NIS training.
PILOT_CALLS = 1000


@dataclass
class IntegrationResult:
    """Outcome of one integration.

    Attributes:
        method: ``flat``, ``vegas``, ``vegas-mapped`` or ``nis``.
        process: Process name.
        integral, error: Estimate and its MC error (in ``unit``).
        rel_std: Standard deviation of the weights over their mean (per sample).
        unweighting_efficiency: <w>/w_max with the replica median maximum (before cuts).
        cut_efficiency: Share of samples with a non-zero weight.
        calls_train, calls_eval: Integrand calls for adaptation/training and for the result.
        seconds: Wall time.
        unit: Unit of the integral.
        extra: Method details (channels, iterations, ...).
    """

    method: str
    process: str
    integral: float
    error: float
    rel_std: float
    unweighting_efficiency: float
    cut_efficiency: float
    calls_train: int
    calls_eval: int
    seconds: float
    unit: str = "1"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        """All integrand calls."""
        return self.calls_train + self.calls_eval

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "calls": self.calls}


class _Counter:
    """Counts the points at which a function is evaluated."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, x: Any, *args: Any) -> Any:
        self.calls += len(x)
        return self.fn(x, *args)


def _result(method: str, process: Process, weights: torch.Tensor, calls_train: int,
            calls_eval: int, t0: float, x: torch.Tensor | None = None,
            labels: torch.Tensor | None = None, **extra: Any) -> IntegrationResult:
    """The result of a final sample: ``x`` its points and ``labels`` their channels (for the
    weight summary in ``extra['weights']``), ``extra['channels']`` the number of channels."""
    w = weights.double()
    extra["weights"] = weight_summary(w, x, labels, int(extra.get("channels", 1)))
    mean, std = w.mean().item(), w.std().item()
    uw = unweighting_metrics(w.float().abs().cpu())
    return IntegrationResult(
        method=method, process=process.name, integral=mean, error=std / math.sqrt(len(w)),
        rel_std=std / abs(mean) if mean else math.inf,
        unweighting_efficiency=uw.uweff_before_cuts, cut_efficiency=uw.cut_eff,
        calls_train=calls_train, calls_eval=calls_eval, seconds=time.perf_counter() - t0,
        unit=process.unit, extra=extra)


def _check_calls(*calls: int) -> None:
    if any(c < 1 for c in calls):
        raise InputError("call counts must be positive", "give --train-calls and --eval-calls > 0")


def flat(process: Process, calls: int, seed: int = 0) -> IntegrationResult:
    """Plain Monte Carlo: uniform points on the hypercube (the process's default mapping)."""
    _check_calls(calls)
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(calls, process.dims, generator=gen, dtype=torch.float64)
    return _result("flat", process, process(x), 0, calls, t0, x=x)


def _vegas_run(fn: Callable[[np.ndarray], np.ndarray], dims: int, train: int, evals: int,
               iterations: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """Adapt a VEGAS map with ``train`` calls, then weights and points of a fresh sample of
    ``evals``."""
    counter = _Counter(fn)
    integ = vegas.Integrator(dims * [[0.0, 1.0]], ran_array_generator=np.random.default_rng(
        seed).random)
    batch = vegas.lbatchintegrand(counter)
    integ(batch, nitn=iterations, neval=max(train // iterations, 2 * dims))
    calls_train = counter.calls
    integ.set(neval=evals)
    xs, ws = [], []
    for x, wgt in integ.random_batch():
        xs.append(np.array(x))
        ws.append(np.array(wgt))
    x, wgt = np.concatenate(xs), np.concatenate(ws)
    values = counter(x)
    weights = torch.as_tensor(values * wgt * len(x))
    return weights, torch.as_tensor(x), calls_train, counter.calls - calls_train


def vegas_plain(process: Process, train_calls: int, eval_calls: int, iterations: int = 10,
                seed: int = 0) -> IntegrationResult:
    """VEGAS on the process's default hypercube parametrisation."""
    _check_calls(train_calls, eval_calls)
    t0 = time.perf_counter()

    def fn(x: np.ndarray) -> np.ndarray:
        return process(torch.as_tensor(x, dtype=torch.float64)).numpy()

    weights, x, n_train, n_eval = _vegas_run(fn, process.dims, train_calls, eval_calls,
                                             iterations, seed)
    return _result("vegas", process, weights, n_train, n_eval, t0, x=x, iterations=iterations)


def vegas_mapped(process: MultiChannelProcess, train_calls: int, eval_calls: int,
                 iterations: int = 10, seed: int = 0) -> IntegrationResult:
    """Multi-channel VEGAS: one VEGAS grid per pole mapping, integrand ``alpha_c f_c``, calls
    shared equally; the channel integrals add up."""
    _check_calls(train_calls, eval_calls)
    t0 = time.perf_counter()
    n_ch = len(process.channel_names)
    parts, points, labels, n_train, n_eval = [], [], [], 0, 0
    for c in range(n_ch):
        def fn(x: np.ndarray, c: int = c) -> np.ndarray:
            value, _, alpha = process.channel(torch.as_tensor(x, dtype=torch.float64), c)
            return (alpha[:, c] * value).numpy()

        w, x, tr, ev = _vegas_run(fn, process.dims, train_calls // n_ch, eval_calls // n_ch,
                                  iterations, seed + c)
        parts.append(w)
        points.append(x)
        labels.append(torch.full((len(w),), c))
        n_train, n_eval = n_train + tr, n_eval + ev
    total = sum(len(p) for p in parts)
    weights = torch.cat([p * total / len(p) for p in parts])  # one sample of all channels
    return _result("vegas-mapped", process, weights, n_train, n_eval, t0, x=torch.cat(points),
                   labels=torch.cat(labels), iterations=iterations, channels=n_ch)


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
        learned_weights: Train channel weights on top of the prior (off by default: on
            Drell-Yan + Z' it lowered the unweighting efficiency from 0.31 to 0.21).
        channel_allocation: How the final sample is shared among channels: ``variance``
            (smallest integration error) or ``mean`` (each channel's share of the integral).
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
    channel_allocation: str = "variance"
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
        if self.vegas_map not in VEGAS_MAPS:
            raise InputError(f"unknown VEGAS map '{self.vegas_map}'",
                             f"choose one of {', '.join(VEGAS_MAPS)}")
        if not 0.0 <= self.vegas_share < 1.0:
            raise InputError(f"NISConfig.vegas_share / --vegas-share must lie in [0, 1), not "
                             f"{self.vegas_share}", "give a share such as 0.3, or 0 for no "
                             "VEGAS grid")

    @classmethod
    def for_channels(cls, channels: int, **overrides: Any) -> NISConfig:
        """The measured defaults for ``channels`` channels. With several channels, the KL loss,
        16 spline bins and no VEGAS grids: behind per-channel grids, three channels gave
        relative std 0.20 on Drell-Yan + Z' (0.127 without them).

        Example:
            >>> NISConfig.for_channels(3).loss, NISConfig.for_channels(1, bins=8).bins
            ('kl', 8)
        """
        if channels > 1:
            overrides = {"loss": "kl", "vegas_share": 0.0, "bins": 16, **overrides}
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


def nis(process: Process, train_calls: int, eval_calls: int, channels: int = 1,
        config: NISConfig | None = None, seed: int = 0,
        progress: Callable[[int], None] | None = None) -> tuple[IntegrationResult, Any]:
    """Neural importance sampling with ``madnis``: single channel, or the process's channels
    with prior weights alpha (and learned corrections).

    Returns:
        The result and the ``SampleBatch`` of the final sample (for events and plots).
    """
    _check_calls(train_calls, eval_calls)
    cfg = config or NISConfig.for_channels(channels)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    # integrand values of order one keep madnis' variance losses away from cancellation:
    # scale by a flat estimate from a small pilot sample (its calls count as training)
    pilot = process(torch.rand(cfg.pilot_calls(train_calls), process.dims,
                               dtype=torch.float64))
    scale = float(pilot.abs().mean()) or 1.0
    pilot_calls = len(pilot)
    if channels > 1:
        if not isinstance(process, MultiChannelProcess):
            raise InputError(f"process '{process.name}' has no channels",
                             "use --channels 1 for it")
        if channels != len(process.channel_names):
            raise InputError(f"process '{process.name}' has {len(process.channel_names)} "
                             f"channels, not {channels}", "use --channels 1 or "
                             f"{len(process.channel_names)}")
        def scaled_channel(x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
            value, point, alpha = process.channel(x, c)  # float64 physics, float32 network
            return (value / scale).to(x.dtype), point.to(x.dtype), alpha.to(x.dtype)

        counter = _Counter(scaled_channel)
        integrand = Integrand(counter, input_dim=process.dims, channel_count=channels,
                              remapped_dim=process.dims, has_channel_weight_prior=True)
        variance_loss: Any = stratified_variance
    else:
        counter = _Counter(lambda x: (process(x.double()) / scale).to(x.dtype))
        integrand = Integrand(counter, input_dim=process.dims)
        variance_loss = variance
    steps = cfg.training_steps(train_calls)  # buffered steps re-use stored calls
    if cfg.loss == "renyi":  # its order follows the optimisation steps
        loss = AnnealedRenyi(steps, cfg.renyi_alpha_start, cfg.renyi_alpha, cfg.renyi_ramp)
    else:
        loss = variance_loss if cfg.loss == "variance" else kl_divergence
    flow_kwargs = {"layers": cfg.layers, "units": cfg.units, "bins": cfg.bins}
    flow, mapped = None, None
    if cfg.defensive > 0 or cfg.vegas_share > 0:
        flow = Flow(dims_in=process.dims, channels=channels if channels > 1 else None,
                    **flow_kwargs)
    if cfg.vegas_share > 0:
        flow = mapped = VegasMappedFlow(flow, process.dims, channels,
                                        smooth=cfg.vegas_map == "smooth")
    if cfg.defensive > 0:
        flow = DefensiveFlow(flow, cfg.defensive)
    integrator = Integrator(
        integrand, flow=flow, loss=loss, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        flow_kwargs=flow_kwargs,
        train_channel_weights=cfg.learned_weights and channels > 1,
        buffer_capacity=cfg.buffer_capacity, buffered_steps=cfg.buffered_steps,
        uniform_channel_ratio=cfg.uniform_channel_ratio,
        scheduler=lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps))
    if mapped is not None:
        mapped.set_grids(vegas_grids(integrator, cfg.vegas_calls(train_calls),
                                     cfg.vegas_iterations, cfg.vegas_bins, seed))
    integrator.train(steps, callback=(lambda status: progress(status.step)) if progress else None)
    calls_train = counter.calls + pilot_calls
    with torch.no_grad():
        batch = integrator.sample(eval_calls, channel_weight_mode=cfg.channel_allocation)
    batch.weights = batch.weights.double() * scale
    result = _result("nis", process, batch.weights, calls_train,
                     counter.calls + pilot_calls - calls_train,
                     t0, x=batch.x, labels=batch.channels if channels > 1 else None,
                     channels=channels, steps=steps, loss=cfg.loss,
                     **({"renyi_alpha": cfg.renyi_alpha} if cfg.loss == "renyi" else {}),
                     buffered_steps=cfg.buffered_steps)
    return result, batch
