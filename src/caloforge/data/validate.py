"""Checks of shower values and of the match between a file and a geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from caloforge.data.io import DEFAULT_CHUNK, ShowerFile
from caloforge.data.showers import Showers
from caloforge.errors import InputError
from caloforge.geometry import LayeredGeometry, geometry_for_voxels, get_geometry

__all__ = ["check_values", "open_validated", "resolve_geometry"]


def check_values(showers: Showers, source: str = "showers", offset: int = 0) -> None:
    """Raise :class:`InputError` for NaN/inf anywhere, negative voxel energies or non-positive
    incident energies.

    Arguments:
        showers: The batch to check.
        source: How to name the data in the message (e.g. the file).
        offset: Row number of the batch's first shower, for the message.

    Example:
        >>> check_values(Showers(np.array([1.0]), np.array([[0.0, -1.0]])))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        caloforge.errors.InputError: showers: negative energy -1 MeV in 'showers' at row 0; ...
    """
    for name, values in (("incident_energies", showers.energies), ("showers", showers.voxels)):
        finite = np.isfinite(values)
        if not finite.all():
            row = offset + int(np.argwhere(~finite)[0][0])
            raise InputError(f"{source}: NaN or inf in '{name}' at row {row}",
                             "remove or regenerate the affected showers")
    if len(showers) and showers.voxels.size and showers.voxels.min() < 0:
        row, col = np.unravel_index(np.argmin(showers.voxels), showers.voxels.shape)
        value = float(showers.voxels[row, col])
        raise InputError(f"{source}: negative energy {value:.6g} MeV in 'showers' at row "
                         f"{offset + int(row)}", "voxel energies must be >= 0 MeV")
    if len(showers) and showers.energies.min() <= 0:
        row = offset + int(np.argmin(showers.energies))
        raise InputError(f"{source}: non-positive incident energy at row {row}",
                         "incident energies must be > 0 MeV")


def resolve_geometry(file: ShowerFile,
                     geometry: str | Path | None = None) -> LayeredGeometry | None:
    """The geometry of a file: the one asked for, else the recorded one, else the preset with
    the file's voxel count. Raises if the voxel counts disagree."""
    geo: LayeredGeometry | None
    if geometry is not None:
        geo = get_geometry(geometry)
    elif file.geometry_name is not None:
        try:
            geo = get_geometry(file.geometry_name)
        except InputError:
            geo = geometry_for_voxels(file.n_voxels)
    else:
        geo = geometry_for_voxels(file.n_voxels)
    if geo is not None and geo.n_voxels != file.n_voxels:
        raise InputError(
            f"file '{file.path}' has {file.n_voxels} voxels per shower but geometry "
            f"'{geo.name}' has {geo.n_voxels}", "pass the --geometry that matches the file")
    return geo


def open_validated(path: str | Path, geometry: str | Path | None = None,
                   chunk_size: int = DEFAULT_CHUNK) -> tuple[ShowerFile, LayeredGeometry | None]:
    """Open a file, check its header, geometry and every value (streamed in chunks).

    Returns:
        The open file and its geometry (None if it matches no preset and none was given).
    """
    file = ShowerFile(path)
    geo = resolve_geometry(file, geometry)
    for i, chunk in enumerate(file.iter_chunks(chunk_size)):
        check_values(chunk, source=f"file '{file.path}'", offset=i * chunk_size)
    return file, geo
