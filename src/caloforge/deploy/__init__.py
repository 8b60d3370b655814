"""Deployment: a run's sampler as one ONNX (Geant4 Par04) or TorchScript (key4hep DDML) graph,
and fast CPU inference of exported files.

Example (with a CaloFlow run made by ``caloforge train``)::

    from caloforge.deploy import ExportedSampler, export_run
    result = export_run("runs/ds1", "ds1.onnx")          # + ds1.onnx.json, parity checked
    sampler = ExportedSampler("ds1.onnx", threads=2)
    showers = sampler.sample(noise, energies)             # CaloChallenge order, MeV
"""

from caloforge.deploy.export import FORMATS, ExportResult, export_run, metadata_path
from caloforge.deploy.graph import DDMLModule, SamplerGraph
from caloforge.deploy.layout import IOLayout, from_par04, par04_grid, to_par04
from caloforge.deploy.runtime import BACKENDS, ExportedSampler, read_metadata

__all__ = ["BACKENDS", "FORMATS", "DDMLModule", "ExportResult", "ExportedSampler", "IOLayout",
           "SamplerGraph", "export_run", "from_par04", "metadata_path", "par04_grid",
           "read_metadata", "to_par04"]
