"""Manifold overfitting, shown: a full-dimensional flow against CaloMan's two-step model.

Data: angles from a von Mises distribution (``--mu``, ``--kappa``), put on the unit circle
``(cos a, sin a)`` and embedded in R^10 by a fixed random orthonormal map (no noise off the
circle: a 1-dimensional manifold in 10 dimensions). ``--n`` training points (10 % held out).

(a) Full-dimensional: a rational-quadratic spline MAF on R^10 (``caloforge.models.flows``, 5
    blocks of 2 x 128), maximum likelihood through the engine (``caloforge.train.fit``) at a
    constant learning rate of 1e-3 (``--epochs``). Its density can grow without bound by
    shrinking onto the circle, so its training log-likelihood keeps rising; nothing in the
    likelihood then pins down how mass is spread *along* the circle.
(b) Two-step (CaloMan's recipe): a plain autoencoder R^10 -> R^1 -> R^10 (CaloMan's MLPs, 3 x
    64; latent size = the intrinsic dimension, 1), then a 1-dimensional spline flow on the
    standardised codes (cosine schedule); samples are decoded flow draws.

A KS distance per epoch is noisy (the full flow's jumps by 3-5x between epochs), so each model
is summarised by the median over its last third of epochs as well as the final value (5x the
draws); the acceptance of issue 26 reads: the two-step model's larger of the two <= 0.05 and
<= half the full flow's median.

After every epoch (the modules' ``validation_step``) each model's samples are mapped back to the
plane of the circle and their angle ``atan2`` is compared with the true von Mises CDF
(``scipy.stats.vonmises``) by the Kolmogorov-Smirnov distance (``--ks-samples`` draws; the final
values use 5x more). One command:

    nice -n 15 python benchmarks/manifold_overfitting.py          # a few minutes on 2 CPU cores

Prints a table; writes ``benchmarks/results/manifold_overfitting[-TAG].json`` and the figure
``manifold_overfitting[-TAG].png`` (log-likelihood and KS distance against epoch).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy import stats
from torch import Tensor, nn

from _results import cpu_model, results_path
from caloforge._version import __version__
from caloforge.models.caloman import mlp
from caloforge.models.flows import FlowSpec, build_flow, sample_masked
from caloforge.tables import write_json
from caloforge.train import TrainConfig, fit

AMBIENT = 10


def make_data(n: int, mu: float, kappa: float, seed: int) -> tuple[Tensor, Tensor]:
    """``(n, 10)`` float32 points on the embedded circle and the ``(10, 2)`` orthonormal map."""
    rng = np.random.default_rng(seed)
    angles = stats.vonmises.rvs(kappa, loc=mu, size=n, random_state=rng)
    q, _ = np.linalg.qr(rng.normal(size=(AMBIENT, 2)))
    circle = np.stack([np.cos(angles), np.sin(angles)], 1)
    return (torch.as_tensor(circle @ q.T, dtype=torch.float32),
            torch.as_tensor(q, dtype=torch.float32))


def ks_distance(x: Tensor, q: Tensor, mu: float, kappa: float) -> float:
    """KS distance between the angles of points ``x`` (projected on the plane) and the truth."""
    plane = x.double() @ q.double()
    angles = torch.atan2(plane[:, 1], plane[:, 0]).numpy()
    angles = (angles - mu + np.pi) % (2 * np.pi) - np.pi  # centred on mu, in [-pi, pi)
    return float(stats.kstest(angles, stats.vonmises(kappa).cdf).statistic)


class Tracked(nn.Module):
    """A model whose validation step also reports its samples' KS distance (fixed seed)."""

    monitor = None  # keep the last epoch: the point is what longer training does
    q: Tensor
    mu: float
    kappa: float
    ks_samples: int

    def track(self, q: Tensor, mu: float, kappa: float, ks_samples: int) -> None:
        self.register_buffer("q", q)
        self.mu, self.kappa, self.ks_samples = mu, kappa, ks_samples

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def nll(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def training_step(self, batch: dict[str, Tensor], ctx: Any) -> dict[str, Tensor]:
        return {"loss": self.nll(batch["x"]).mean()}

    def validation_step(self, batch: dict[str, Tensor], ctx: Any) -> dict[str, Tensor]:
        x = self.sample(self.ks_samples, torch.Generator().manual_seed(123))
        ks = ks_distance(x, self.q, self.mu, self.kappa)
        return {"loss": self.nll(batch["x"]).mean(), "ks": torch.tensor(ks)}


class FullFlow(Tracked):
    """A spline MAF on R^10 (a constant context: the unconditional case of ``build_flow``)."""

    def __init__(self, spec: FlowSpec) -> None:
        super().__init__()
        self.flow = build_flow(AMBIENT, 1, spec)

    def nll(self, x: Tensor) -> Tensor:
        return -self.flow(x.new_zeros(len(x), 1)).log_prob(x)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return sample_masked(self.flow, torch.zeros(n, 1), generator)


class Autoencoder(nn.Module):
    """A plain autoencoder R^10 -> R^latent -> R^10 (CaloMan's MLPs), squared error."""

    monitor = "loss"

    def __init__(self, latent: int, hidden: list[int]) -> None:
        super().__init__()
        self.encoder = mlp([AMBIENT, *hidden, latent])
        self.decoder = mlp([latent, *hidden, AMBIENT])

    def training_step(self, batch: dict[str, Tensor], ctx: Any) -> dict[str, Tensor]:
        x = batch["x"]
        return {"loss": (self.decoder(self.encoder(x)) - x).square().sum(1).mean()}

    validation_step = training_step


class LatentFlow(Tracked):
    """The frozen autoencoder and a spline flow on its standardised codes (the two-step model).
    Its likelihood is of the codes (per unit of the standardised latent)."""

    def __init__(self, ae: Autoencoder, codes: Tensor, spec: FlowSpec) -> None:
        super().__init__()
        self.ae = ae.requires_grad_(False)
        self.register_buffer("z_mean", codes.mean(0))
        self.register_buffer("z_std", codes.std(0))
        self.flow = build_flow(codes.shape[1], 1, spec)

    def nll(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            z = (self.ae.encoder(x) - self.z_mean) / self.z_std
        return -self.flow(x.new_zeros(len(x), 1)).log_prob(z)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        z = sample_masked(self.flow, torch.zeros(n, 1), generator)
        return self.ae.decoder(z * self.z_std + self.z_mean)


def curve(result: Any) -> dict[str, list[float]]:
    h = result.history
    return {"epoch": [r["epoch"] for r in h], "train_log_likelihood": [-r["train_loss"] for r in h],
            "val_log_likelihood": [-r["val_loss"] for r in h], "ks": [r["val_ks"] for r in h],
            "seconds": [r["seconds"] for r in h]}


def final_ks(model: Tracked, n: int, q: Tensor, args: argparse.Namespace) -> float:
    with torch.no_grad():
        return ks_distance(model.sample(n, torch.Generator().manual_seed(7)), q, args.mu,
                           args.kappa)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="training points (10%% held out)")
    parser.add_argument("--mu", type=float, default=0.0)
    parser.add_argument("--kappa", type=float, default=2.0)
    parser.add_argument("--epochs", type=int, default=200, help="full-dimensional flow")
    parser.add_argument("--ae-epochs", type=int, default=300)
    parser.add_argument("--latent-epochs", type=int, default=100)
    parser.add_argument("--ks-samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    x, q = make_data(args.n, args.mu, args.kappa, args.seed)
    data = {"x": x}
    empirical = ks_distance(x, q, args.mu, args.kappa)
    spec = FlowSpec(kind="maf", transforms=5, hidden=[128, 128], bins=8)
    base = dict(batch_size=256, lr=1e-3, schedule="constant", patience=0, device="cpu",
                threads=args.threads, seed=args.seed, grad_clip=100.0)
    out: dict[str, Any] = {"caloforge": __version__, "cpu": cpu_model(),
                           "settings": vars(args), "flow": vars(spec),
                           "training_points_ks": empirical}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        full = FullFlow(spec)
        full.track(q, args.mu, args.kappa, args.ks_samples)
        res = fit(full, data, TrainConfig(epochs=args.epochs, **base), Path(tmp) / "full",
                  progress=False)
        out["full"] = {**curve(res), "final_ks": final_ks(full, 5 * args.ks_samples, q, args),
                       "minutes": (time.perf_counter() - t0) / 60}
        t0 = time.perf_counter()
        ae = Autoencoder(1, [64, 64, 64])
        res_ae = fit(ae, data, TrainConfig(epochs=args.ae_epochs, **{**base, "lr": 3e-3,
                                                                     "schedule": "cosine"}),
                     Path(tmp) / "ae", progress=False)
        with torch.no_grad():
            codes = ae.encoder(x)
        two = LatentFlow(ae, codes, FlowSpec(kind="maf", transforms=4, hidden=[32, 32], bins=16))
        two.track(q, args.mu, args.kappa, args.ks_samples)
        res_two = fit(two, data, TrainConfig(epochs=args.latent_epochs,
                                             **{**base, "schedule": "cosine"}),
                      Path(tmp) / "two", progress=False)
        out["two_step"] = {**curve(res_two), "final_ks": final_ks(two, 5 * args.ks_samples, q,
                                                                   args),
                           "ae_val_mse": res_ae.best_val_loss,
                           "ae_reconstruction_ks": ks_distance(
                               ae.decoder(codes).detach(), q, args.mu, args.kappa),
                           "minutes": (time.perf_counter() - t0) / 60}
    for key in ("full", "two_step"):
        ks = out[key]["ks"]
        out[key]["ks_median_last_third"] = float(np.median(ks[-max(1, len(ks) // 3):]))
    full_ks = out["full"]["ks_median_last_third"]
    two_ks = max(out["two_step"]["final_ks"], out["two_step"]["ks_median_last_third"])
    out["acceptance"] = {"two_step_ks_le_0.05": two_ks <= 0.05,
                         "two_step_ks_le_half_full": two_ks <= 0.5 * full_ks}
    print(f"training points' own angle KS to the truth: {empirical:.4f}")
    print("model        | epochs | train log-lik (first -> last) | KS min | KS median, last "
          "third of epochs | final KS")
    for name, key in (("full-dim MAF", "full"), ("two-step", "two_step")):
        r = out[key]
        print(f"{name:12s} | {r['epoch'][-1]:6d} | {r['train_log_likelihood'][0]:9.3f} -> "
              f"{r['train_log_likelihood'][-1]:9.3f}    | {min(r['ks']):.4f} | "
              f"{r['ks_median_last_third']:.4f}                      | {r['final_ks']:.4f}")
    print(f"two-step autoencoder: held-out squared error {out['two_step']['ae_val_mse']:.2e}, "
          f"its reconstructions' angle KS {out['two_step']['ae_reconstruction_ks']:.4f}")
    print(f"acceptance: {out['acceptance']}")
    path = results_path("manifold_overfitting", args.tag)
    write_json(path, out)
    plot(out, path.with_suffix(".png"))
    print(f"wrote {path} and {path.with_suffix('.png')}")


def plot(out: dict[str, Any], path: Path) -> None:
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label, color in (("full", "full-dimensional MAF on R^10", "C3"),
                              ("two_step", "two-step: AE (latent 1) + flow", "C0")):
        r = out[key]
        a.plot(r["epoch"], r["train_log_likelihood"], color=color, label=f"{label}: train")
        a.plot(r["epoch"], r["val_log_likelihood"], color=color, ls="--", label="held out")
        b.plot(r["epoch"], r["ks"], color=color, label=label)
    b.axhline(out["training_points_ks"], color="grey", ls=":", label="training points")
    b.axhline(0.05, color="k", lw=0.8, ls="-.", label="0.05")
    a.set(xlabel="epoch", ylabel="mean log-likelihood (nats; two-step: of latent codes)",
          title="likelihood")
    b.set(xlabel="epoch", ylabel="KS distance of sampled angles to von Mises", yscale="log",
          title="angle distribution")
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
