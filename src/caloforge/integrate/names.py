"""Names the command line offers for integration (a light module: listing them needs no torch
or madnis)."""

__all__ = ["ALLOCATIONS", "LOSSES", "METHODS", "PROCESS_NAMES", "VEGAS_MAPS"]

#: Integration methods of :func:`~caloforge.integrate.comparison.compare`.
METHODS = ("flat", "vegas", "vegas-mapped", "nis")
#: Processes of :func:`~caloforge.integrate.comparison.get_process`, in that order.
PROCESS_NAMES = (*(f"camel-{d}d" for d in range(2, 9)), "ring", "dy", "dy-zprime", "3body-2bw")
#: Training losses of :class:`~caloforge.integrate.nis_config.NISConfig`.
LOSSES = ("renyi", "variance", "kl")
#: How :class:`~caloforge.integrate.nis_config.NISConfig` joins the VEGAS bin edges.
VEGAS_MAPS = ("smooth", "linear")
#: How :class:`~caloforge.integrate.nis_config.NISConfig` shares the final sample among channels.
ALLOCATIONS = ("unweighting", "variance", "mean")
