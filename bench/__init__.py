"""Weight-free demo and benchmark of the pack on the shape world: ``python -m bench.demo``, ``python -m bench.run``
(run from the repository root).

The pack is only ever imported under the package name ``sde_edit``: ComfyUI has a top-level ``nodes``
module, so the pack's ``nodes``/``samplers`` must never be imported as top-level modules. Run as
``python -m bench.*``, this package is top-level ``bench`` and loads the repository root's ``__init__.py``
as ``sde_edit`` (as tests/conftest.py does; that file imports nothing from ComfyUI); imported as
``sde_edit.bench`` (the tests), the pack is already loaded. The bench modules then use
``from sde_edit.samplers... import ...``.
"""
import importlib.util
import sys
from pathlib import Path

PACK_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "sde_edit"


def load_pack():
    """The pack as the package ``sde_edit`` (loaded once, from this checkout's root)."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(PACKAGE, PACK_ROOT / "__init__.py",
                                                  submodule_search_locations=[str(PACK_ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[PACKAGE]
        raise
    return module


load_pack()
