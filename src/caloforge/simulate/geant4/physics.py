"""Physics lists for the Geant4 engine: stock ``FTFP_BERT`` where data are installed, else an
electromagnetic list built only from analytic models, which needs no data files.

Every stock EM constructor (``G4EmStandardPhysics`` and its options) reads data at the first
event (Seltzer-Berger bremsstrahlung, shell data), so the data-free list builds the processes
itself. Their classes are not bound in Python but are exported by the extension module, so
they are created through ``ctypes``: ``operator new``, the mangled complete-object constructor,
then ``G4PhysicsListHelper::RegisterProcess`` (Geant4 owns and deletes them).

========  =====================================================================================
particle  processes (models)
========  =====================================================================================
gamma     phot (G4PEEffectFluoModel, Sandia), compt (Klein-Nishina), conv (BetheHeitlerLPM)
e-, e+    msc (Urban), eIoni (Moller/Bhabha), eBrem (G4eBremsstrahlungRelModel at all energies,
          where the stock list uses Seltzer-Berger below 1 GeV); e+ also annihil
========  =====================================================================================

Missing against ``G4EmStandardPhysics``: Rayleigh scattering, the Livermore photo-effect,
Seltzer-Berger bremsstrahlung below 1 GeV, WentzelVI above 100 MeV, pair production by
electrons, hadronic physics. Expect percent-level differences in sampling fractions and shapes.

Only :mod:`caloforge.simulate.geant4.worker` imports this module, inside a worker process.
"""

from __future__ import annotations

import ctypes
from typing import Any

from caloforge.simulate.geant4._g4 import g4

__all__ = ["DATAFREE_NAME", "DataFreeEmPhysics", "make_physics_list"]

#: The name files record for the data-free list.
DATAFREE_NAME = "caloforge-datafree-em (analytic EM models, no data files)"
#: Bytes allocated per process object: more than the largest class used (G4eIonisation,
#: 0x4c8 bytes in this wheel).
_OBJECT_BYTES = 4096
#: libstdc++ keeps strings up to this length inside the object (small-string optimisation).
_SSO_CHARS = 15

_LIB = ctypes.CDLL(g4.__file__)           # the already-loaded extension module
_CXX = ctypes.CDLL("libstdc++.so.6")
_CXX._Znwm.restype, _CXX._Znwm.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
_VP = ctypes.c_void_p
_ALIVE: list[Any] = []                    # buffers Geant4 points into: never freed


def _symbol(name: str, restype: Any, *argtypes: Any) -> Any:
    fn = getattr(_LIB, name)
    fn.restype, fn.argtypes = restype, list(argtypes)
    return fn


def _g4string(text: str) -> ctypes.c_void_p:
    """A ``G4String`` (libstdc++ ``std::string``, short-string layout) holding ``text``."""
    raw = text.encode()
    if len(raw) > _SSO_CHARS:
        raise ValueError(f"process name {text!r} longer than {_SSO_CHARS} bytes")
    buf = ctypes.create_string_buffer(32)
    addr = ctypes.addressof(buf)
    ctypes.c_void_p.from_address(addr).value = addr + 16      # data pointer -> local buffer
    ctypes.c_size_t.from_address(addr + 8).value = len(raw)   # length
    ctypes.memmove(addr + 16, raw, len(raw))
    _ALIVE.append(buf)
    return _VP(addr)


def _new(constructor: str, *args: Any) -> ctypes.c_void_p:
    """``new T(args...)`` through the mangled complete-object constructor."""
    obj = _CXX._Znwm(_OBJECT_BYTES)
    _symbol(constructor, None, _VP, *[type(a) for a in args])(_VP(obj), *args)
    return _VP(obj)


class DataFreeEmPhysics(g4.G4VPhysicsConstructor):
    """The analytic-model EM constructor (see the module table)."""

    def __init__(self) -> None:
        super().__init__("DataFreeEM")

    def ConstructParticle(self) -> None:
        g4.G4Gamma.GammaDefinition()
        g4.G4Electron.ElectronDefinition()
        g4.G4Positron.PositronDefinition()
        g4.G4Proton.ProtonDefinition()
        g4.G4Geantino.GeantinoDefinition()
        g4.G4ChargedGeantino.ChargedGeantinoDefinition()

    def ConstructProcess(self) -> None:
        helper = _symbol("_ZN19G4PhysicsListHelper20GetPhysicsListHelperEv", _VP)()
        register = _symbol(
            "_ZN19G4PhysicsListHelper15RegisterProcessEP10G4VProcessP20G4ParticleDefinition",
            ctypes.c_bool, _VP, _VP, _VP)
        gamma, electron, positron = (_symbol(f"_ZN{cls}10DefinitionEv", _VP)()
                                     for cls in ("7G4Gamma", "10G4Electron", "10G4Positron"))
        em = ctypes.c_int(int(g4.G4ProcessType.fElectromagnetic))

        def add(process: ctypes.c_void_p, particle: int) -> None:
            if not register(helper, process, _VP(particle)):
                raise RuntimeError("G4PhysicsListHelper refused a process")

        typed = "ERK8G4String13G4ProcessType"
        add(_new(f"_ZN21G4PhotoElectricEffectC1{typed}", _g4string("phot"), em), gamma)
        add(_new(f"_ZN19G4ComptonScatteringC1{typed}", _g4string("compt"), em), gamma)
        add(_new(f"_ZN17G4GammaConversionC1{typed}", _g4string("conv"), em), gamma)
        set_model = _symbol("_ZN20G4VEnergyLossProcess10SetEmModelEP10G4VEmModeli",
                            None, _VP, _VP, ctypes.c_int)
        for particle in (electron, positron):
            add(_new("_ZN21G4eMultipleScatteringC1ERK8G4String", _g4string("msc")), particle)
            add(_new("_ZN13G4eIonisationC1ERK8G4String", _g4string("eIoni")), particle)
            brem = _new("_ZN17G4eBremsstrahlungC1ERK8G4String", _g4string("eBrem"))
            # Slot 0 (< 1 GeV) would default to Seltzer-Berger, which reads data files.
            relativistic = _new(
                "_ZN25G4eBremsstrahlungRelModelC1EPK20G4ParticleDefinitionRK8G4String",
                _VP(None), _g4string("eBremLPM"))
            set_model(brem, relativistic, 0)
            add(brem, particle)
        add(_new("_ZN19G4eplusAnnihilationC1ERK8G4String", _g4string("annihil")), positron)


def make_physics_list(mode: str, verbose: int = 0) -> tuple[Any, list[Any], str]:
    """The physics list for ``mode`` (``stock`` or ``datafree``).

    Returns:
        The list, the Python objects that must outlive it, and the name files record.
    """
    if mode == "stock":
        physics = g4.FTFP_BERT(verbose)
        return physics, [], "FTFP_BERT (G4EmStandardPhysics)"
    physics = g4.G4VModularPhysicsList()        # adds G4Transportation itself
    physics.SetVerboseLevel(verbose)
    em = DataFreeEmPhysics()
    physics.RegisterPhysics(em)
    return physics, [em], DATAFREE_NAME
