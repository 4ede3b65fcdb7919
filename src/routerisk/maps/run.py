"""Former name of :mod:`routerisk.maps.outputs` (renamed: ``maps.run`` read like :func:`routerisk.pipeline.run`).

Kept so that ``from routerisk.maps.run import write_run_maps`` still works; new code imports from
:mod:`routerisk.maps` or :mod:`routerisk.maps.outputs`.
"""

from __future__ import annotations

from ..privacy import publishable_shelters
from .outputs import load_run, model_from_manifest, provenance_of, write_run_maps

__all__ = ["load_run", "model_from_manifest", "provenance_of", "publishable_shelters", "write_run_maps"]
