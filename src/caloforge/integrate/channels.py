"""Multi-channel parts of neural importance sampling: a loss that trains learned channel weights,
and how the final sample is shared among the channels.

**Learned channel weights.** ``madnis`` multiplies the prior weights ``alpha_c(x)`` by
``exp(NN_c(y))`` and renormalises; the network only learns through the integrand
``alpha_c f`` in the loss. The KL and Rényi losses (``madnis.integrator.kl_divergence``,
:func:`~caloforge.integrate.losses.renyi_divergence`) detach the integrand, so with them the
network never receives a gradient and the "learned" weights stay the prior (its last layer starts
at zero). :class:`ChannelWeightLoss` adds the stratified variance of arXiv:2311.01548 with the
flows' densities held fixed: the flows keep their own loss, the channel weights minimise the
variance of the multi-channel estimate, as in MadNIS.

**Allocation for unweighting.** A channel drawn with probability ``p_c`` gives weights
``alpha_c f / (p_c q_c)``; its largest is ``I_c / (p_c eff_c)`` (``I_c`` its integral,
``eff_c`` its own unweighting efficiency). The efficiency of the whole sample,
``I / max_c I_c / (p_c eff_c)``, is largest when every channel's largest weight is the same:
``p_c ~ I_c / eff_c``, giving ``1 / sum_c (I_c / I) / eff_c``. :func:`sample_for_unweighting`
spends a share of the calls evenly on the channels, then draws the rest in rounds, each shared
by the largest weights seen so far; every point keeps its channel's weight ``N / N_c``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from madnis.integrator import Integrator, SampleBatch, stratified_variance
from madnis.nn import MLP
from torch import nn

__all__ = ["ChannelWeightLoss", "channel_weight_network", "sample_for_unweighting"]

Loss = Callable[..., torch.Tensor]


class ChannelWeightLoss:
    """The flows' loss on the detached integrand plus the stratified variance with the flows'
    densities detached, which trains ``madnis``' channel-weight network (only that network
    sees the second term, and Adam is blind to its scale: no factor).

    Arguments:
        flow_loss: A ``madnis`` multi-channel loss ``(f_true, q_test, q_sample, channels)``.

    Example:
        >>> from madnis.integrator import kl_divergence
        >>> loss = ChannelWeightLoss(kl_divergence)
        >>> f = torch.tensor([1.0, 2.0, 1.0, 2.0], requires_grad=True)
        >>> q = torch.ones(4)
        >>> value = loss(f * 1.0, q, q, torch.tensor([0, 0, 1, 1]))
        >>> value.backward()
        >>> bool(f.grad.abs().sum() > 0)  # the integrand (hence the channel weights) learns
        True
    """

    def __init__(self, flow_loss: Loss) -> None:
        self.flow_loss = flow_loss

    def __call__(self, f_true: torch.Tensor, q_test: torch.Tensor,
                 q_sample: torch.Tensor | None = None,
                 channels: torch.Tensor | None = None) -> torch.Tensor:
        q_sample = q_test if q_sample is None else q_sample
        flows = self.flow_loss(f_true.detach(), q_test, q_sample, channels)
        weights = stratified_variance(f_true, q_test.detach(), q_sample.detach(), channels)
        return flows + weights


def channel_weight_network(inputs: int, channels: int, learning_rate: float,
                           lr_factor: float) -> tuple[nn.Module, Callable[..., Any]]:
    """``madnis``' channel-weight MLP (last layer zero: it starts at the prior) and an Adam
    factory for the integrator whose parameter group for that network learns ``lr_factor``
    times slower than the flows.

    Example:
        >>> net, make = channel_weight_network(4, 3, 1e-3, 0.1)
        >>> opt = make(list(net.parameters()) + [torch.nn.Parameter(torch.zeros(2))])
        >>> [group["lr"] for group in opt.param_groups]
        [0.001, 0.0001]
    """
    net = MLP(inputs, channels)
    own = {id(p) for p in net.parameters()}

    def make(parameters: Any) -> torch.optim.Optimizer:
        params = list(parameters)
        return torch.optim.Adam([
            {"params": [p for p in params if id(p) not in own]},
            {"params": [p for p in params if id(p) in own], "lr": learning_rate * lr_factor}],
            lr=learning_rate)

    return net, make


def _per_channel(integrator: Integrator, counts: list[int]) -> list[SampleBatch]:
    """``counts[c]`` weighted points of every channel (weights without the share factor)."""
    return [integrator.sample(n, channel=c) for c, n in enumerate(counts) if n > 0]


def _top_up(have: torch.Tensor, largest: torch.Tensor, chunk: int) -> list[int]:
    """Points per channel to add so that the totals approach ``p_c ~ largest_c`` (the largest
    weight ``I_c / eff_c`` of each channel so far), ``chunk`` points in all."""
    target = (have.sum() + chunk) * largest / largest.sum()
    need = (target - have).clamp_min(0)
    if float(need.sum()) <= 0:
        need = largest.clone()
    counts = torch.floor(need / need.sum() * chunk).long()
    counts[int(torch.argmax(need))] += chunk - int(counts.sum())
    return counts.tolist()


def sample_for_unweighting(integrator: Integrator, n: int, channels: int,
                           pilot_share: float = 0.1, rounds: int = 4
                           ) -> tuple[SampleBatch, dict[str, Any]]:
    """A sample of ``n`` points whose channel shares equalise the channels' largest weights.

    A pilot of ``pilot_share * n`` points spread evenly over the channels, then ``rounds``
    equal chunks, each shared so that the channels' point counts approach ``p_c ~ I_c /
    eff_c``, the largest weight of channel ``c`` so far. A channel with a longer tail than the
    pilot showed finds its larger weights and draws more in the next round. Every point stays
    in the sample.

    Returns:
        The batch (``weights`` set, each point's weight multiplied by ``n / n_c``) and a dict
        with the final channel ``shares`` and the pilot's calls.
    """
    pilot_each = max(1, int(pilot_share * n) // channels)
    batches = _per_channel(integrator, [pilot_each] * channels)
    rest = n - pilot_each * channels
    have = torch.zeros(channels, dtype=torch.float64)  # points and largest weight per channel
    largest = torch.zeros(channels, dtype=torch.float64)

    def record(new: list[SampleBatch]) -> None:
        for b in new:
            c = int(b.channels[0])
            have[c] += len(b.channels)
            largest[c] = max(float(largest[c]), float(b.weights.double().abs().max()))

    record(batches)
    for k in range(rounds):
        chunk = rest // rounds + (rest % rounds if k == rounds - 1 else 0)
        new = _per_channel(integrator, _top_up(have, torch.where(have > 0, largest, 1.0),
                                               chunk))
        record(new)
        batches += new
    batch = SampleBatch.cat(batches)
    per_channel = torch.bincount(batch.channels, minlength=channels)
    batch.weights = batch.weights * (len(batch.channels) / per_channel.clamp_min(1))[
        batch.channels]
    return batch, {"shares": (per_channel / len(batch.channels)).tolist(),
                   "pilot_calls": pilot_each * channels, "rounds": rounds}
