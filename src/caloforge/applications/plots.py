"""Plots of the likelihood applications (matplotlib, Agg, the evaluation's HEP style)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from caloforge.applications.anomaly import AnomalyStudyResult
from caloforge.evaluate.plots import STYLE

__all__ = ["plot_anomaly_study", "plot_calibration", "plot_prior_study", "plot_pulls"]

#: Working points drawn keep at least this many background events (as in max SI).
MIN_BACKGROUND = 10


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_anomaly_study(result: AnomalyStudyResult, out_dir: str | Path) -> list[Path]:
    """ROC (background rejection against signal efficiency), significance improvement against
    background rejection, and AUC against the photon separation, per chi energy; flow (solid)
    and supervised (dashed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with plt.rc_context(STYLE):
        energies = sorted({p.energy_mev for p in result.points})
        fig, axes = plt.subplots(2, len(energies), figsize=(4.4 * len(energies), 7.6),
                                 squeeze=False)
        for col, energy in enumerate(energies):
            pts = [p for p in result.points if p.energy_mev == energy]
            colors = plt.cm.viridis(np.linspace(0, 0.9, len(pts)))
            for p, c in zip(pts, colors, strict=True):
                for metrics, ls in ((p.flow, "-"), (p.supervised, "--")):
                    fpr, tpr = np.asarray(metrics.fpr), np.asarray(metrics.tpr)
                    ok = fpr * metrics.n_background >= MIN_BACKGROUND
                    axes[0, col].plot(tpr[ok], 1 / fpr[ok], ls=ls, color=c,
                                      label=f"d = {p.separation_mm:g} mm" if ls == "-" else None)
                    axes[1, col].plot(1 / fpr[ok], tpr[ok] / np.sqrt(fpr[ok]), ls=ls, color=c)
            axes[0, col].set(yscale="log", xlabel="signal efficiency",
                             ylabel="background rejection 1/FPR",
                             title=f"chi -> gg, E = {energy / 1e3:g} GeV\n(solid: flow, "
                                   "dashed: supervised)")
            axes[0, col].legend(fontsize=7)
            axes[1, col].set(xscale="log", xlabel="background rejection 1/FPR",
                             ylabel="SI = TPR / sqrt(FPR)")
        paths.append(_save(fig, out / "anomaly_roc_si.png"))

        fig, ax = plt.subplots(figsize=(4.6, 3.6))
        for energy in energies:
            pts = [p for p in result.points if p.energy_mev == energy]
            d = [p.measured_separation_mm[1] for p in pts]
            ax.plot(d, [p.flow.auc for p in pts], "o-", label=f"flow, {energy / 1e3:g} GeV")
            ax.plot(d, [p.supervised.auc for p in pts], "s--",
                    label=f"supervised, {energy / 1e3:g} GeV")
        ax.axhline(0.5, color="0.5", ls=":", lw=0.8)
        ax.set(xlabel="median photon separation on the face [mm]", ylabel="AUC", ylim=(0.4, 1.01))
        ax.legend(fontsize=7)
        paths.append(_save(fig, out / "anomaly_auc.png"))
    return paths


def plot_calibration(energies_gev: Sequence[float],
                     curves: Mapping[str, Mapping[str, Sequence[float]]],
                     path: str | Path) -> Path:
    """Response (mode of E_hat/E) and resolution against E for several methods.

    Arguments:
        energies_gev: Test energies.
        curves: Label -> ``{"response", "response_err", "resolution", ...}``; an optional
            ``predicted`` list draws the mean per-shower resolution as a dotted line.
        path: Output PNG.
    """
    with plt.rc_context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.2, 6.4), sharex=True)
        for label, c in curves.items():
            line = top.errorbar(energies_gev, c["response"], yerr=c["response_err"], marker="o",
                                capsize=2, label=label)
            color = line[0].get_color()
            bottom.plot(energies_gev, c["resolution"], "o-", color=color, label=label)
            if "predicted" in c:
                bottom.plot(energies_gev, c["predicted"], ":", color=color,
                            label=f"{label}: predicted")
        top.axhline(1.0, color="0.5", lw=0.8)
        top.axhspan(0.98, 1.02, color="0.9", zorder=0)
        top.set(ylabel="response: mode of E_hat / E", xscale="log")
        top.legend(fontsize=7)
        bottom.set(xlabel="E_true [GeV]", ylabel="resolution (68 % half-width)", yscale="log")
        bottom.set_xticks(list(energies_gev), [f"{e:g}" for e in energies_gev])
        bottom.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        bottom.legend(fontsize=6)
        return _save(fig, Path(path))


def plot_pulls(pulls: Mapping[str, np.ndarray], path: str | Path) -> Path:
    """Pull ``(E_hat - E) / sigma`` distributions against a unit Gaussian."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.6, 3.6))
        bins = np.linspace(-5, 5, 51)
        for label, values in pulls.items():
            ax.hist(np.clip(values, -5, 5), bins=bins, density=True, histtype="step",
                    label=f"{label}: std {np.std(values):.2f}")
        x = np.linspace(-5, 5, 201)
        ax.plot(x, np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), color="0.4", ls=":",
                label="N(0, 1)")
        ax.set(xlabel="pull (E_hat - E) / sigma", ylabel="density")
        ax.legend(fontsize=7, loc="upper left")
        return _save(fig, Path(path))


def plot_prior_study(rows: Sequence[Mapping[str, object]], path: str | Path) -> Path:
    """Response (mode of E_hat/E, bootstrap errors) and resolution against the true energy: one
    column per method, one colour per training prior.

    Arguments:
        rows: Dicts with ``method``, ``prior``, ``E_GeV``, ``response``, ``response_err`` and
            ``resolution`` (as the calibration benchmark writes them).
        path: Output PNG.
    """
    methods = list(dict.fromkeys(str(r["method"]) for r in rows))
    priors = list(dict.fromkeys(str(r["prior"]) for r in rows))
    colors = dict(zip(priors, plt.cm.tab10(np.arange(len(priors))), strict=True))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, len(methods), figsize=(4.2 * len(methods), 6.4),
                                 sharex=True, sharey="row", squeeze=False)
        for col, method in enumerate(methods):
            top, bottom = axes[0, col], axes[1, col]
            for prior in priors:
                sel = [r for r in rows if r["method"] == method and r["prior"] == prior]
                e = [float(r["E_GeV"]) for r in sel]  # type: ignore[arg-type]
                top.errorbar(e, [r["response"] for r in sel], marker="o", capsize=2,
                             yerr=[r["response_err"] for r in sel], color=colors[prior],
                             label=f"trained on {prior}")
                bottom.plot(e, [r["resolution"] for r in sel], "o-", color=colors[prior])
            top.axhline(1.0, color="0.5", lw=0.8)
            top.axhspan(0.99, 1.01, color="0.9", zorder=0)
            top.set(title=method, xscale="log")
            bottom.set(xlabel="E_true [GeV]", yscale="log")
            ticks = sorted({float(r["E_GeV"]) for r in rows})  # type: ignore[arg-type]
            bottom.set_xticks(ticks, [f"{t:g}" for t in ticks])
            bottom.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            top.legend(fontsize=7)
        axes[0, 0].set_ylabel("response: mode of E_hat / E")
        axes[1, 0].set_ylabel("resolution (68 % half-width / mode)")
        return _save(fig, Path(path))
