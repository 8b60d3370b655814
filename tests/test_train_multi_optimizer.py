"""The engine runs a module that brings its own optimizers: a WGAN-GP on a 2-D toy (alternating
critic and generator updates, n_critic, gradient penalty, two schedulers, EMA weights), every
named loss logged, and a crash-and-resume that ends with the weights of an uninterrupted run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from caloforge.models.base import OptimizerSpec, StepContext, TrainingPlan
from caloforge.seeds import seeded_init
from caloforge.train import TrainConfig, fit

N_CRITIC = 3
MEAN = torch.tensor([2.0, -1.0])


def _mlp(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, 32), nn.LeakyReLU(0.2), nn.Linear(32, n_out))


class WGANGP(nn.Module):
    """Generator and critic of a 2-D Gaussian; dies after ``crash_after`` steps if told to."""

    monitor = None  # no validation loss: the last epoch's weights are kept

    def __init__(self, crash_after: int | None = None) -> None:
        super().__init__()
        self.generator, self.critic = _mlp(2, 2), _mlp(2, 1)
        self.steps, self.crash_after = 0, crash_after

    def configure_optimizers(self, plan: TrainingPlan) -> dict[str, OptimizerSpec]:
        specs = {}
        for name, module, lr in (("critic", self.critic, 2e-3), ("generator", self.generator,
                                                                  1e-3)):
            opt = torch.optim.Adam(module.parameters(), lr=lr, betas=(0.5, 0.9))
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=40, gamma=0.7)
            specs[name] = OptimizerSpec(opt, sched, clip=5.0)
        return specs

    def training_step(self, batch: dict[str, Tensor], ctx: StepContext) -> dict[str, Tensor]:
        self.steps += 1
        if self.crash_after is not None and self.steps > self.crash_after:
            raise RuntimeError("simulated crash")
        real = batch["x"]
        z = torch.randn(real.shape, generator=ctx.generator)
        fake = self.generator(z)
        eps = torch.rand(len(real), 1, generator=ctx.generator)
        mix = (eps * real + (1 - eps) * fake.detach()).requires_grad_()
        grad = torch.autograd.grad(self.critic(mix).sum(), mix, create_graph=True)[0]
        penalty = (grad.norm(dim=1) - 1).square().mean()
        distance = self.critic(real).mean() - self.critic(fake.detach()).mean()
        ctx.optimize("critic", -distance + 10.0 * penalty)
        out = {"critic": (-distance + 10.0 * penalty).detach(), "wasserstein": distance.detach(),
               "penalty": penalty.detach()}
        if ctx.step % N_CRITIC == 0:
            loss = -self.critic(self.generator(z)).mean()
            ctx.optimize("generator", loss)
            out["generator"] = loss.detach()
        return out


def _data() -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"x": MEAN + 0.5 * torch.randn(2000, 2, generator=g)}


CONFIG = TrainConfig(epochs=6, batch_size=100, seed=1, patience=0, checkpoint_every_s=0.0,
                     ema_decay=0.9, threads=1)


def _trained(path: Path, model: WGANGP) -> WGANGP:
    with seeded_init(0):  # the same initial weights for every run of this test
        fresh = WGANGP()
    model.load_state_dict(fresh.state_dict())
    fit(model, _data(), CONFIG, path, progress=False)
    return model


def test_both_optimizers_step_and_every_loss_is_logged(tmp_path: Path) -> None:
    with seeded_init(0):
        before = {k: v.clone() for k, v in WGANGP().state_dict().items()}
    model = _trained(tmp_path, WGANGP())
    for name in ("generator", "critic"):
        changed = [not torch.equal(v, before[k]) for k, v in model.state_dict().items()
                   if k.startswith(name) and k.endswith("weight")]  # (a critic's output bias
        # gets no gradient from the Wasserstein loss)
        assert all(changed), f"the {name} did not learn"
    steps = 6 * 18  # 1800 training rows / 100
    last = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)
    counts = {k: int(v["state"][0]["step"]) for k, v in last["optimizers"].items()}
    assert counts == {"critic": steps, "generator": -(-steps // N_CRITIC)}
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6
    assert set(rows[0]) >= {"train_critic", "train_generator", "train_wasserstein",
                            "train_penalty", "lr_critic", "lr_generator"}
    assert float(rows[-1]["lr_critic"]) == pytest.approx(2e-3 * 0.7 ** (steps // 40))
    with seeded_init(0):
        untrained = WGANGP()
    z = torch.randn(4000, 2, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():  # the generator moved towards the data
        gaps = [(g(z).mean(0) - MEAN).norm() for g in (untrained.generator, model.generator)]
    assert gaps[1] < 0.8 * gaps[0]


def test_crash_and_resume_gives_the_uninterrupted_weights(tmp_path: Path) -> None:
    reference = _trained(tmp_path / "a", WGANGP()).state_dict()
    with pytest.raises(RuntimeError, match="simulated crash"):
        _trained(tmp_path / "b", WGANGP(crash_after=18 * 2 + 7))  # in the 3rd epoch
    state = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", weights_only=False)["state"]
    assert (state["epoch"], state["step"]) == (2, 7)
    resumed = WGANGP()
    fit(resumed, _data(), CONFIG, tmp_path / "b", progress=False)
    assert resumed.steps == 6 * 18 - (2 * 18 + 7)  # only the missing steps ran
    for key, value in resumed.state_dict().items():
        assert torch.equal(value, reference[key]), key
    a = (tmp_path / "a" / "metrics.csv").read_text().splitlines()
    b = (tmp_path / "b" / "metrics.csv").read_text().splitlines()
    strip = [",".join(r.split(",")[:-1]) for r in a], [",".join(r.split(",")[:-1]) for r in b]
    assert strip[0] == strip[1]  # every logged loss too (only the seconds differ)


def test_threads_are_restored(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    fit(WGANGP(), _data(), TrainConfig(epochs=1, batch_size=500, threads=1, patience=0),
        tmp_path, progress=False)
    assert torch.get_num_threads() == before
