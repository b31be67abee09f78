"""Schema inputs that several nodes share (V3 ``comfy_api.latest.io``)."""
from __future__ import annotations

from comfy_api.latest import io

from . import comfy_adapter as adapter

CATEGORY = "sampling/sde_edit"


def seed_input(tooltip: str) -> io.Int.Input:
    return io.Int.Input("seed", default=0, min=0, max=0xffffffffffffffff, control_after_generate=True,
                        tooltip=tooltip)


def cfg_input(name: str, default: float, tooltip: str, minimum: float = 0.0, maximum: float = 100.0,
              round_to: float | None = 0.01) -> io.Float.Input:
    return io.Float.Input(name, default=default, min=minimum, max=maximum, step=0.1, round=round_to, tooltip=tooltip)


def eta_input(default: float, tooltip: str) -> io.Float.Input:
    return io.Float.Input("eta", default=default, min=0.0, max=1.0, step=0.01, tooltip=tooltip)


def scheduler_input() -> io.Combo.Input:
    return io.Combo.Input("scheduler", options=adapter.scheduler_names(), default="simple")
