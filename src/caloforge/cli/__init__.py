"""The ``caloforge`` command: thin wrappers around the Python API, one module per group."""
