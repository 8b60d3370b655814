"""The training that tests/test_ddp.py compares on 1 and 2 ranks: a small noisy regression
through the engine's ``fit`` in float64, with both kinds of training noise a family draws
(dequantisation of the inputs, a latent Gaussian per row).

Run under torchrun (``torchrun --standalone --nproc-per-node 2 tests/ddp_worker.py OUT``) it
joins the process group and trains three times, each rank saving what it ends with to
``OUT/rank-<r>.pt``: the row-keyed module, the same module drawing its noise per rank (which
must differ), and the row-keyed module killed after 13 steps and resumed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import Tensor, nn

from caloforge.models.base import StepContext
from caloforge.noise import batch_noise
from caloforge.preprocess.transforms import dequantize
from caloforge.seeds import seeded_init
from caloforge.train import TrainConfig, TrainResult, fit

#: 201 showers: 40 for validation, 161 for training = 10 batches of 16 and one of 1 row
#: (on 2 ranks: 8 rows each, then a stand-in row with weight 0); 20 steps end in epoch 2.
N_ROWS, FEATURES, BATCH, STEPS = 201, 6, 16, 20
#: Width of the dequantisation noise and scale of the latent noise.
NOISE_WIDTH, LATENT_SCALE = 0.5, 0.3
CRASH_AFTER = 13


class Noisy(nn.Module):
    """``y ~ net(dequantised x) + LATENT_SCALE * z``: both noises reach the gradients.

    ``keyed=False`` draws the noise for the rows at hand only (not keyed by row: it depends on
    the number of ranks); ``crash_after`` steps, the step raises (a killed run).
    """

    def __init__(self, keyed: bool = True, crash_after: int | None = None) -> None:
        super().__init__()
        with seeded_init(0):
            self.net = nn.Sequential(nn.Linear(FEATURES, 16), nn.Tanh(), nn.Linear(16, 1))
        self.keyed, self.crash_after, self.calls = keyed, crash_after, 0

    def training_step(self, batch: dict[str, Tensor], ctx: StepContext) -> dict[str, Tensor]:
        self.calls += 1
        if self.crash_after is not None and self.calls > self.crash_after:
            raise RuntimeError("simulated crash")
        return self.validation_step(batch, ctx)

    def validation_step(self, batch: dict[str, Tensor], ctx: StepContext) -> dict[str, Tensor]:
        x = batch["x"]
        if self.keyed:
            x = dequantize(x, NOISE_WIDTH, ctx.generator)
            z = batch_noise(torch.randn, (len(x),), ctx.generator, dtype=x.dtype)
        else:
            x = x + NOISE_WIDTH * torch.rand(x.shape, generator=ctx.generator, dtype=x.dtype)
            z = torch.randn((len(x),), generator=ctx.generator, dtype=x.dtype)
        residual = self.net(x).squeeze(1) + LATENT_SCALE * z - batch["y"]
        return {"loss": residual.square().mean(), "abs": residual.abs().mean().detach()}


def data() -> dict[str, Tensor]:
    """Fixed inputs and targets (float32, as the sources give them)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(N_ROWS, FEATURES, generator=gen) * 4.0
    return {"x": x, "y": torch.sin(x).sum(1)}


def config(seed: int = 0) -> TrainConfig:
    """float64, 20 steps of 16 rows, a checkpoint after every step, one thread."""
    return TrainConfig(epochs=2, batch_size=BATCH, val_batch_size=BATCH, lr=0.02,
                       val_fraction=0.2, patience=0, seed=seed, max_steps=STEPS,
                       checkpoint_every_s=0.0, device="cpu", threads=1, dtype="float64")


def train(out: Path, keyed: bool = True, seed: int = 0, crash_after: int | None = None
          ) -> tuple[Noisy, TrainResult]:
    """One training into ``out`` (after a crash, the same call again resumes it)."""
    if crash_after is not None:
        try:
            fit(Noisy(keyed, crash_after), data(), config(seed), out, progress=False)
        except RuntimeError:
            pass
        else:
            raise AssertionError("the crash did not happen")
    model = Noisy(keyed)
    return model, fit(model, data(), config(seed), out, progress=False)


def parameters(model: nn.Module) -> Tensor:
    """All parameters in one float64 vector."""
    return torch.cat([p.detach().reshape(-1).double() for p in model.parameters()])


def _main(out: Path) -> None:
    from caloforge.train.distributed import session

    torch.set_num_threads(1)
    with session("cpu") as world:
        results = {}
        for name, kwargs in (("keyed", {}), ("per_rank", {"keyed": False}),
                             ("resumed", {"crash_after": CRASH_AFTER})):
            model, result = train(out / name, **kwargs)
            results[name] = {"params": parameters(model), "history": result.history,
                             "steps": result.steps, "calls": model.calls}
        torch.save({"world": world.size, **results}, out / f"rank-{world.rank}.pt")


if __name__ == "__main__":
    _main(Path(sys.argv[1]))
