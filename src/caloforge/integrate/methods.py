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
from caloforge.integrate.channels import (
    ChannelWeightLoss,
    channel_weight_network,
    sample_for_unweighting,
)
from caloforge.integrate.defensive import DefensiveFlow
from caloforge.integrate.diagnostics import weight_summary
from caloforge.integrate.losses import AnnealedRenyi
from caloforge.integrate.nis_config import NISConfig
from caloforge.integrate.processes import MultiChannelProcess, Process
from caloforge.integrate.vegas_map import VegasMappedFlow, vegas_grids

__all__ = ["IntegrationResult", "NISConfig", "flat", "nis", "stratified_error", "vegas_mapped",
           "vegas_plain"]


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
    weight summary in ``extra['weights']``), ``extra['channels']`` the number of channels.

    A multi-channel sample is stratified (each channel's point count is fixed, its weights
    carry the factor ``N / N_c``), so its error is the stratified one, ``sqrt(sum_c N_c
    Var_c(w)) / N``, not the spread of all weights about one mean (which would count the
    differences between the channels' mean weights as noise); the relative std per sample is
    ``error sqrt(N) / |I|`` for every method."""
    w = weights.double()
    extra["weights"] = weight_summary(w, x, labels, int(extra.get("channels", 1)))
    mean = w.mean().item()
    error = stratified_error(w, labels)
    uw = unweighting_metrics(w.float().abs().cpu())
    return IntegrationResult(
        method=method, process=process.name, integral=mean, error=error,
        rel_std=error * math.sqrt(len(w)) / abs(mean) if mean else math.inf,
        unweighting_efficiency=uw.uweff_before_cuts, cut_efficiency=uw.cut_eff,
        calls_train=calls_train, calls_eval=calls_eval, seconds=time.perf_counter() - t0,
        unit=process.unit, extra=extra)


def stratified_error(weights: torch.Tensor, labels: torch.Tensor | None = None) -> float:
    """MC error of the mean of ``weights``, stratified by ``labels`` when given.

    Example:
        >>> w = torch.tensor([1.0, 1.0, 3.0, 3.0], dtype=torch.float64)
        >>> stratified_error(w), stratified_error(w, torch.tensor([0, 0, 1, 1]))
        (0.5773502691896257, 0.0)
    """
    w = weights.double()
    if labels is None:
        return w.std().item() / math.sqrt(len(w))
    total = 0.0
    for c in labels.unique():
        part = w[labels == c]
        if len(part) > 1:
            total += len(part) * part.var().item()
    return math.sqrt(total) / len(w)


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
    """Adapt a VEGAS map with about ``train`` calls, then weights and points of a fresh sample
    that spends the rest of ``train + evals`` exactly.

    VEGAS's iterations use about, never exactly, the calls asked for (hypercubes get whole
    numbers of points); so that every method spends the same calls, the final sample is drawn
    from the adapted map itself (uniform in the map's variables, weight ``f(x) |dx/dy|``) with
    exactly the calls the adaptation left.
    """
    counter = _Counter(fn)
    rng = np.random.default_rng(seed)
    integ = vegas.Integrator(dims * [[0.0, 1.0]], ran_array_generator=rng.random)
    batch = vegas.lbatchintegrand(counter)
    integ(batch, nitn=iterations, neval=max(train // iterations, 2 * dims))
    calls_train = counter.calls
    n_eval = max(train + evals - calls_train, 1)
    y = rng.random((n_eval, dims))
    x, jac = np.empty_like(y), np.empty(n_eval)
    integ.map.map(y, x, jac)
    weights = torch.as_tensor(counter(x) * jac)
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

        share = (train_calls // n_ch + (c < train_calls % n_ch),  # all calls, shared
                 eval_calls // n_ch + (c < eval_calls % n_ch))
        w, x, tr, ev = _vegas_run(fn, process.dims, *share, iterations, seed + c)
        parts.append(w)
        points.append(x)
        labels.append(torch.full((len(w),), c))
        n_train, n_eval = n_train + tr, n_eval + ev
    total = sum(len(p) for p in parts)
    weights = torch.cat([p * total / len(p) for p in parts])  # one sample of all channels
    return _result("vegas-mapped", process, weights, n_train, n_eval, t0, x=torch.cat(points),
                   labels=torch.cat(labels), iterations=iterations, channels=n_ch)


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
        learned = cfg.learned_weights

        def scaled_channel(x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
            value, point, alpha = process.channel(x, c)  # float64 physics, float32 network
            if learned:  # the channel-weight network sees the point and the prior weights
                point = torch.cat([point, alpha.clamp_min(1e-30).log()], 1)
            return (value / scale).to(x.dtype), point.to(x.dtype), alpha.to(x.dtype)

        counter = _Counter(scaled_channel)
        integrand = Integrand(counter, input_dim=process.dims, channel_count=channels,
                              remapped_dim=process.dims + (channels if learned else 0),
                              has_channel_weight_prior=True)
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
    if cfg.learned_weights and channels > 1:  # the flows' losses give the weights no gradient
        loss = ChannelWeightLoss(loss)
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
    cwnet, optimizer = None, None
    if cfg.learned_weights and channels > 1:
        cwnet, optimizer = channel_weight_network(process.dims + channels, channels,
                                                  cfg.learning_rate, cfg.channel_weight_lr)
    integrator = Integrator(
        integrand, flow=flow, loss=loss, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        flow_kwargs=flow_kwargs, cwnet=cwnet, optimizer=optimizer,
        train_channel_weights=cfg.learned_weights and channels > 1,
        freeze_cwnet_iteration=(round(cfg.channel_weight_share * steps)
                                if cfg.channel_weight_share < 1 else None),
        buffer_capacity=cfg.buffer_capacity, buffered_steps=cfg.buffered_steps,
        uniform_channel_ratio=cfg.uniform_channel_ratio,
        scheduler=lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps))
    if mapped is not None:
        mapped.set_grids(vegas_grids(integrator, cfg.vegas_calls(train_calls),
                                     cfg.vegas_iterations, cfg.vegas_bins, seed))
    integrator.train(steps, callback=(lambda status: progress(status.step)) if progress else None)
    calls_train = counter.calls + pilot_calls
    # training spends whole batches: the final sample takes what is left of train + eval, so
    # every method spends the same calls
    n_eval = max(train_calls + eval_calls - calls_train, 1)
    allocation: dict[str, Any] = {}
    with torch.no_grad():
        if channels > 1 and cfg.channel_allocation == "unweighting":
            batch, allocation = sample_for_unweighting(integrator, n_eval, channels,
                                                       cfg.allocation_pilot)
        else:
            batch = integrator.sample(n_eval, channel_weight_mode=cfg.channel_allocation)
    batch.weights = batch.weights.double() * scale
    result = _result("nis", process, batch.weights, calls_train,
                     counter.calls + pilot_calls - calls_train,
                     t0, x=batch.x, labels=batch.channels if channels > 1 else None,
                     channels=channels, steps=steps, loss=cfg.loss,
                     **({"renyi_alpha": cfg.renyi_alpha} if cfg.loss == "renyi" else {}),
                     buffered_steps=cfg.buffered_steps,
                     **({"allocation": allocation} if allocation else {}))
    return result, batch
