"""Phase-space integration: neural importance sampling (``madnis``) against VEGAS and flat MC.

Stands apart from the calorimeter stages: it shares only the CLI, configs and plotting style.
"""

from caloforge.integrate.compare import METHODS, PROCESSES, compare, get_process, table
from caloforge.integrate.drell_yan import DrellYan, DrellYanParameters, ToyPDF
from caloforge.integrate.losses import AnnealedRenyi, renyi_divergence
from caloforge.integrate.methods import (
    IntegrationResult,
    NISConfig,
    flat,
    nis,
    vegas_mapped,
    vegas_plain,
)
from caloforge.integrate.processes import Camel, MultiChannelProcess, Process, Ring
from caloforge.integrate.vegas_map import VegasMappedFlow

__all__ = [
    "METHODS",
    "PROCESSES",
    "AnnealedRenyi",
    "Camel",
    "DrellYan",
    "DrellYanParameters",
    "IntegrationResult",
    "MultiChannelProcess",
    "NISConfig",
    "Process",
    "Ring",
    "ToyPDF",
    "VegasMappedFlow",
    "compare",
    "flat",
    "get_process",
    "nis",
    "renyi_divergence",
    "table",
    "vegas_mapped",
    "vegas_plain",
]
