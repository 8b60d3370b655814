"""Where every random draw comes from: the one documented derivation of seeds.

Every stage takes one user seed and derives its random streams here, so that the same seed
(and thread count, and chunk size where there are chunks) gives the same numbers.

=====================  ==============================================  =====================
stream                 generator                                       used by
=====================  ==============================================  =====================
train/val split        ``torch.Generator`` seeded ``seed``             :mod:`caloforge.train`
batch order, epoch e   ``torch.Generator`` seeded ``shuffle_seed``     training sources
training noise, e      ``torch.Generator`` seeded ``noise_seed``       ``ctx.generator`` in
                       at the start of epoch e (state checkpointed)    ``training_step``
validation noise       ``derive(seed, "validation")``, fresh for       ``validation_step``
                       every validation pass
weight initialisation  torch's global RNG seeded ``seed`` inside       :func:`seeded_init`
                       :func:`seeded_init` (restored afterwards)
preprocessing fit      ``torch.Generator`` seeded ``seed``             families' ``setup``
generation, chunk k    ``derive(seed, "generate", k)``                 :mod:`caloforge.generation`
simulation, chunk k    ``numpy.random.default_rng([seed, k])``         :mod:`caloforge.simulate`
Geant4, chunk k        particles as above; MixMax reseeded with        the Geant4 engine
                       ``derive(seed, "geant4", k)``
classifier tests       ``numpy.random.default_rng(seed)`` (splits),    :mod:`caloforge.evaluate`
                       ``torch.Generator`` seeded ``seed`` (batches),
                       the network built inside :func:`seeded_init`
integration            flat: ``torch.Generator`` seeded ``seed``;      :mod:`caloforge.integrate`
                       VEGAS: ``numpy.random.default_rng(seed)``;
                       NIS: ``madnis`` draws from torch's global RNG,
                       seeded ``seed`` and left so (the replicas of
                       the unweighting efficiency continue it)
=====================  ==============================================  =====================

``shuffle_seed`` and ``noise_seed`` are the linear mixes of caloforge 0.1's engine, kept so that
training reproduces its losses to float rounding (``tests/golden``); streams added since come from
:func:`derive`, a ``numpy.random.SeedSequence`` hash of the seed and a key.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

__all__ = ["derive", "noise_seed", "seeded_init", "shuffle_seed", "torch_generator"]

#: Multiplier of the seed in the per-epoch batch-order seed (a prime, so epochs never collide).
SHUFFLE_SEED_STRIDE = 1_000_003
#: Multipliers of the seed and of the epoch in the per-epoch training-noise seed (primes).
NOISE_SEED_STRIDE = 7_919
NOISE_EPOCH_STRIDE = 104_729


def shuffle_seed(seed: int, epoch: int) -> int:
    """Seed of the batch order of ``epoch``.

    Example:
        >>> shuffle_seed(0, 3), shuffle_seed(1, 0)
        (3, 1000003)
    """
    return seed * SHUFFLE_SEED_STRIDE + epoch


def noise_seed(seed: int, epoch: int) -> int:
    """Seed of the training noise (dequantisation, latent draws) of ``epoch``.

    Example:
        >>> noise_seed(0, 1), noise_seed(2, 0)
        (104729, 15838)
    """
    return seed * NOISE_SEED_STRIDE + epoch * NOISE_EPOCH_STRIDE


def _key_int(key: int | str) -> int:
    return zlib.crc32(key.encode()) if isinstance(key, str) else int(key)


def derive(seed: int, *key: int | str) -> int:
    """A 63-bit seed for the stream named ``key`` (strings and non-negative integers).

    Example:
        >>> derive(0, "generate", 1) == derive(0, "generate", 1) != derive(0, "generate", 2)
        True
        >>> 0 <= derive(7, "validation") < 2**63
        True
    """
    entropy = [int(seed) & 0xFFFFFFFFFFFFFFFF, *(_key_int(k) for k in key)]
    state = np.random.SeedSequence(entropy).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def torch_generator(seed: int, device: str | object = "cpu") -> object:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``.

    Example:
        >>> import torch
        >>> g = torch_generator(3)
        >>> torch.rand(1, generator=g).item() == torch.rand(1, generator=torch_generator(3)).item()
        True
    """
    import torch

    return torch.Generator(device=device).manual_seed(int(seed))


@contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build modules inside this block to initialise their weights from ``seed``; torch's
    global RNG is restored afterwards (``nn.Module`` initialisers draw from it).

    Example:
        >>> import torch
        >>> with seeded_init(0):
        ...     a = torch.nn.Linear(2, 2).weight
        >>> with seeded_init(0):
        ...     b = torch.nn.Linear(2, 2).weight
        >>> torch.equal(a, b)
        True
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield
