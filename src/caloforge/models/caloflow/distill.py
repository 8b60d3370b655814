"""Probability-density distillation of a MAF teacher's Flow II into an IAF student.

Loss (CaloFlow, arXiv:2110.11377): ``beta MSE_x + (1 - beta) MSE_z`` where

* x-path: data ``x`` -> teacher (fast direction) -> ``z`` -> student (fast direction) -> ``x_hat``;
* z-path: noise ``z`` -> student -> ``x'`` -> teacher -> ``z_hat``;

both run in one pass. With ``guided``, the same squared errors on every intermediate block
(teacher and student must have the same number of blocks) are added. The validation loss is a
Monte-Carlo estimate of ``KL(student || teacher)`` per feature, which picks the checkpoint.
Flow I is copied from the teacher unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from caloforge.models.base import StepContext
from caloforge.models.caloflow.model import CaloFlow, CaloFlowConfig
from caloforge.models.flows import FlowSpec
from caloforge.noise import batch_noise

__all__ = ["DistillConfig", "Distiller"]


@dataclass
class DistillConfig:
    """Distillation settings.

    Attributes:
        enabled: Distil a student after the teacher (the recipe's ``student`` stage).
        beta: Weight of the x-path MSE (``1 - beta`` for the z-path).
        guided: Add the per-block ("fully guided") terms.
        guided_weight: Weight of the per-block terms.
    """

    enabled: bool = True
    beta: float = 0.5
    guided: bool = True
    guided_weight: float = 1.0


class Distiller(nn.Module):
    """Trains a student CaloFlow (IAF Flow II) against a frozen teacher.

    Only the student is a registered submodule, so ``state_dict()`` holds the student
    (keys ``student.*``); the teacher is kept aside, frozen.

    Arguments:
        teacher: A trained CaloFlow (MAF or coupling Flow II).
        student_flow: Architecture of the student's Flow II (``kind='iaf'``).
        config: Loss settings.

    Example:
        >>> from caloforge.preprocess import PreprocessingState
        >>> from caloforge.models.base import StepContext
        >>> spec = FlowSpec(transforms=2, hidden=[8], bins=4)
        >>> teacher = CaloFlow(CaloFlowConfig(PreprocessingState(layer_sizes=[2, 3]), spec, spec))
        >>> batch = {"energies": torch.full((4,), 1e3), "voxels": torch.rand(4, 5) * 50}
        >>> teacher.fit_preprocessing(batch)
        >>> d = Distiller(teacher, FlowSpec(kind="iaf", transforms=2, hidden=[8], bins=4))
        >>> ctx = StepContext(0, 0, torch.Generator().manual_seed(0), torch.device("cpu"), None)
        >>> d.training_step(batch, ctx)["loss"].ndim
        0
        >>> sorted({k.split(".")[1] for k in d.state_dict()})
        ['flow1', 'flow2', 'pre']
    """

    def __init__(self, teacher: CaloFlow, student_flow: FlowSpec,
                 config: DistillConfig | None = None) -> None:
        super().__init__()
        self.config = config or DistillConfig()
        student_cfg = CaloFlowConfig(copy.deepcopy(teacher.config.preprocessing),
                                     copy.deepcopy(teacher.config.flow1), student_flow)
        self.student = CaloFlow(student_cfg)
        self.student.pre.load_state_dict(teacher.pre.state_dict())
        self.student.flow1.load_state_dict(teacher.flow1.state_dict())
        for p in self.student.flow1.parameters():
            p.requires_grad_(False)
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        self._teacher = (teacher,)
        # per-block guidance pairs teacher and student blocks one to one
        self._guided = (self.config.guided
                        and teacher.config.flow2.transforms == student_flow.transforms)

    @property
    def teacher(self) -> CaloFlow:
        """The frozen teacher."""
        return self._teacher[0]

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]
        self._teacher[0]._apply(fn, recurse)  # keep the teacher on the student's device
        return super()._apply(fn, recurse)

    def _conditions(self, batch: dict[str, Tensor], generator: torch.Generator
                    ) -> tuple[Tensor, Tensor]:
        """Flow II features of the (dequantised) batch and their conditions."""
        enc = self.teacher.encode(batch, generator)
        return enc["y"], enc["c2"]

    def training_step(self, batch: dict[str, Tensor], ctx: StepContext) -> Mapping[str, Tensor]:
        """``beta MSE_x + (1 - beta) MSE_z`` (+ guided per-block terms)."""
        beta = self.config.beta
        x, c = self._conditions(batch, ctx.generator)
        t_blocks = self.teacher.flow2.transform(c).transforms
        s_blocks = self.student.flow2.transform(c).transforms
        # x-path: teacher forward (x -> z), keeping the intermediate states
        states = [x]
        with torch.no_grad():
            for block in t_blocks:
                states.append(block(states[-1]))
        loss_x = torch.zeros((), device=x.device)
        h = states[-1]
        last = len(s_blocks) - 1
        for k in reversed(range(len(s_blocks))):
            h = s_blocks[k].inv(h)
            if self._guided and k > 0:
                # the chain's first block already starts from the teacher's state
                guided = h if k == last else s_blocks[k].inv(states[k + 1])
                loss_x = loss_x + self.config.guided_weight * (guided - states[k]).square().mean()
        loss_x = loss_x + (h - x).square().mean()
        # z-path: student z -> x', teacher back to z
        z = batch_noise(torch.randn, x.shape, ctx.generator, device=x.device, dtype=x.dtype)
        s_states = [z]
        for block in reversed(s_blocks):
            s_states.append(block.inv(s_states[-1]))
        h = s_states[-1]
        for block in t_blocks:
            h = block(h)
        loss_z = (h - z).square().mean()
        return {"loss": beta * loss_x + (1.0 - beta) * loss_z, "mse_x": loss_x.detach(),
                "mse_z": loss_z.detach()}

    def validation_step(self, batch: dict[str, Tensor], ctx: StepContext
                        ) -> Mapping[str, Tensor]:
        """Monte-Carlo ``KL(student || teacher)`` per feature on the batch's conditions."""
        y, c = self._conditions(batch, ctx.generator)
        student = self.student.flow2(c)
        z = batch_noise(torch.randn, y.shape, ctx.generator, device=y.device, dtype=y.dtype)
        x, ladj = student.transform.inv.call_and_ladj(z)
        log_q = student.base.log_prob(z) - ladj
        log_p = self.teacher.flow2(c).log_prob(x)
        return {"loss": (log_q - log_p).mean() / x.shape[1]}
