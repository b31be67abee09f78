"""Plain-torch core of the SDE Edit pack: no ComfyUI imports here.

Denoiser protocol: ``denoiser(x, sigma) -> x0`` in ComfyUI's sigma units, plus the model's
parameterisation (``noise_levels.EPS`` for EPS/V, ``noise_levels.FLOW`` for CONST flow models).
"""
from .noise_levels import EPS, FLOW, Parameterization, parameterization
from .trajectory import Trajectory, cycle_sde_invert, cycle_sde_replay, record_forward_chain
from .validation import InputError

__all__ = ["EPS", "FLOW", "Parameterization", "parameterization", "Trajectory", "cycle_sde_invert",
           "cycle_sde_replay", "record_forward_chain", "InputError"]
