"""Phase-space integration: neural importance sampling (``madnis``) against VEGAS and flat MC.

Stands apart from the calorimeter stages: it shares only the CLI, configs and plotting style.
"""

from caloforge._lazy import lazy_exports

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
    "ThreeBody",
    "ThreeBodyParameters",
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

__getattr__ = lazy_exports(__name__, {
    "METHODS": ".comparison",
    "PROCESSES": ".comparison",
    "compare": ".comparison",
    "get_process": ".comparison",
    "table": ".comparison",
    "DrellYan": ".drell_yan",
    "DrellYanParameters": ".drell_yan",
    "ToyPDF": ".drell_yan",
    "AnnealedRenyi": ".losses",
    "renyi_divergence": ".losses",
    "IntegrationResult": ".methods",
    "NISConfig": ".nis_config",
    "flat": ".methods",
    "nis": ".methods",
    "vegas_mapped": ".methods",
    "vegas_plain": ".methods",
    "Camel": ".processes",
    "MultiChannelProcess": ".processes",
    "Process": ".processes",
    "Ring": ".processes",
    "VegasMappedFlow": ".vegas_map",
    "ThreeBody": ".three_body",
    "ThreeBodyParameters": ".three_body",
})
