"""Flow builders on ``zuko`` shared by the families: MAF / IAF / coupling flows with
rational-quadratic splines, the fast spline, and exact fast sampling of MAF blocks."""

from caloforge.models.flows.autoregressive import (
    invert_masked_block,
    is_fast_invertible,
    sample_masked,
)
from caloforge.models.flows.build import FlowSpec, block_orders, build_flow, count_parameters
from caloforge.models.flows.splines import FastRQSTransform

__all__ = ["FastRQSTransform", "FlowSpec", "block_orders", "build_flow", "count_parameters",
           "invert_masked_block", "is_fast_invertible", "sample_masked"]
