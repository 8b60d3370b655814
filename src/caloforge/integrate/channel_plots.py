"""How a multi-channel sample splits phase space: each channel's share of the cross section along
an observable, its channel weights (prior and learned), and where its points land."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from caloforge.integrate.events import _pyplot, _save

__all__ = ["ChannelPanel", "plot_channel_split"]


@dataclass
class ChannelPanel:
    """One process's multi-channel sample for :func:`plot_channel_split`.

    Attributes:
        title: Row title (process and method).
        names: Channel names.
        observables: Physical observables of the points (``process.physical``).
        weights, channels: Sample weights and channel of every point.
        alphas_prior, alphas: Prior and learned channel weights ``(N, channels)`` (``alphas``
            None when the weights were not learned).
        axis: Observable along which shares and weights are histogrammed, its bin edges and
            label (with unit).
        scatter: Two observables for a scatter of the points coloured by channel, or None.
        logx: Logarithmic ``axis``.
    """

    title: str
    names: list[str]
    observables: dict[str, torch.Tensor]
    weights: torch.Tensor
    channels: torch.Tensor
    alphas_prior: torch.Tensor
    alphas: torch.Tensor | None
    axis: tuple[str, np.ndarray, str]
    scatter: tuple[str, str, str, str] | None = None
    logx: bool = False


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def plot_channel_split(path: str | Path, panels: list[ChannelPanel],
                       max_points: int = 4000) -> Path:
    """One row per panel: (1) the cross section along ``axis`` stacked by the channel that
    sampled it, (2) the share of the cross section each channel weight ``alpha_c`` assigns to
    the channel along ``axis`` (prior dashed, learned solid), (3) the points coloured by channel
    (the first ``max_points`` of each channel)."""
    plt = _pyplot()
    fig, rows = plt.subplots(len(panels), 3, figsize=(15, 4.2 * len(panels)), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (ax_share, ax_alpha, ax_points), panel in zip(rows, panels, strict=True):
        name, edges, label = panel.axis
        x, w, ch = _np(panel.observables[name]), _np(panel.weights), _np(panel.channels)
        parts = [np.histogram(x[ch == c], edges, weights=w[ch == c])[0] / len(w)
                 for c in range(len(panel.names))]
        widths = np.diff(edges)
        ax_share.stackplot(0.5 * (edges[1:] + edges[:-1]), *[p / widths for p in parts],
                           labels=panel.names, colors=colours[:len(parts)], step="mid")
        ax_share.set_ylabel(f"dsigma / d{name} (per channel)")
        total = np.histogram(x, edges, weights=w)[0]
        centres = 0.5 * (edges[1:] + edges[:-1])
        filled = total > 0
        for c, cname in enumerate(panel.names):
            sets = [("--", panel.alphas_prior, "prior")]
            if panel.alphas is not None:
                sets.append(("-", panel.alphas, "learned"))
            for style, alphas, kind in sets:
                part = np.histogram(x, edges, weights=w * _np(alphas[:, c]))[0]
                ax_alpha.plot(centres[filled], part[filled] / total[filled], ls=style,
                              color=colours[c], label=f"{cname} {kind}")
        ax_alpha.set_ylabel("channel weight: share of dsigma (all points)")
        ax_alpha.set_ylim(-0.02, 1.02)
        for ax in (ax_share, ax_alpha):
            ax.set_xlabel(label)
            if panel.logx:
                ax.set_xscale("log")
            ax.legend(fontsize=7)
        ax_share.set_title(panel.title, fontsize=10)
        if panel.scatter is not None:
            xs, ys, xlabel, ylabel = panel.scatter
            for c, cname in enumerate(panel.names):
                sel = np.flatnonzero(ch == c)[:max_points]
                ax_points.scatter(_np(panel.observables[xs])[sel],
                                  _np(panel.observables[ys])[sel], s=2, alpha=0.5,
                                  color=colours[c], label=cname)
            if panel.logx:
                ax_points.set_xscale("log")
            ax_points.set_xlabel(xlabel)
            ax_points.set_ylabel(ylabel)
            ax_points.legend(fontsize=7, markerscale=4)
            ax_points.set_title("sampled points by channel", fontsize=10)
        else:
            ax_points.axis("off")
    return _save(fig, path)
