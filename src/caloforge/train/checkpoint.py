"""What the engine writes into a stage directory: checkpoints, EMA weights, metrics.

``checkpoints/last.pt`` holds everything an exact resume needs: the module's weights, every
optimizer's and scheduler's state, the EMA weights, the training-noise generator's state and the
loop's counters. ``checkpoints/best.pt`` holds the weights that scored best on validation.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from caloforge.tables import write_text

__all__ = ["EMA", "atomic_save", "write_metrics"]


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class EMA:
    """Exponential moving averages of a module's floating-point parameters.

    Arguments:
        module: The trained module.
        decay: Weight of the old average per update (0.999: about the last 1000 steps).

    Example:
        >>> lin = nn.Linear(1, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = lin.weight.fill_(1.0)
        >>> ema = EMA(lin, decay=0.5)
        >>> with torch.no_grad():
        ...     _ = lin.weight.fill_(2.0)
        >>> ema.update()
        >>> ema.shadow[0].item()  # 0.5 * 1.0 + 0.5 * 2.0
        1.5
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.params = [p for p in module.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self) -> None:
        """Move the averages towards the current weights."""
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], 1.0 - self.decay)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange the module's weights and the averages (call twice to undo)."""
        for p, s in zip(self.params, self.shadow, strict=True):
            tmp = p.detach().clone()
            p.copy_(s)
            s.copy_(tmp)

    def state_dict(self) -> list[torch.Tensor]:
        """The averages."""
        return self.shadow

    def load_state_dict(self, shadow: list[torch.Tensor]) -> None:
        """Restore the averages."""
        for s, v in zip(self.shadow, shadow, strict=True):
            s.copy_(v)


def write_metrics(run_dir: Path, history: list[dict[str, float]],
                  summary: dict[str, Any] | None = None) -> None:
    """``metrics.csv`` (one row per epoch; a column per named loss) and ``metrics.json``."""
    if history:
        columns = list(dict.fromkeys(k for row in history for k in row))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(history)
        write_text(run_dir / "metrics.csv", buf.getvalue())
    write_text(run_dir / "metrics.json",
               json.dumps({"history": history, "summary": summary}, indent=1))
