"""Plain-torch core of the SDE Edit pack: no ComfyUI imports here.

``engine`` holds what every method shares (denoiser protocol ``denoiser(x, sigma) -> x0`` in ComfyUI's sigma
units, input checks, the forward chain, the anchored step, mask pinning); ``noise_levels`` the algebra of the
model's parameterisation (``EPS`` for EPS/V, ``FLOW`` for CONST flow models). One module per method, named as
its node file: ``cycle_sde``, ``sde_drag``, ``sync_sde``, ``sde_inpaint``, ``rf_inversion``.
"""
from .cycle_sde import Trajectory, cycle_sde_invert, cycle_sde_replay
from .engine import record_forward_chain
from .noise_levels import EPS, FLOW, Parameterization, parameterization
from .validation import InputError

__all__ = ["EPS", "FLOW", "Parameterization", "parameterization", "Trajectory", "cycle_sde_invert",
           "cycle_sde_replay", "record_forward_chain", "InputError"]
