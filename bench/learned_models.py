"""Two small learned denoisers of ``learned_world``, and their wrappers as the pack's denoisers.

Architecture: diffusers ``UNet2DModel`` (class-conditioned: one embedding per label of ``learned_world`` and
one for the empty prompt, attention at the lowest resolution only), 1.1M parameters, trained by
``python -m bench.train``:

* ``eps``: epsilon prediction on SD1.x's discrete schedule (the pack's EPS algebra, x = x0 + sigma eps in
  ComfyUI units; the network sees the VP state x / sqrt(1 + sigma^2) and the timestep of sigma);
* ``flow``: rectified flow, velocity v = eps - x0 at time t = sigma (the FLOW algebra);
* ``edit``: the instruction-edit model of ``learned_edit``, rectified flow as ``flow``, its input the noisy
  state and the reference image side by side (6 channels), its classes the instructions.

``LearnedDenoiser`` turns any of them into ``denoiser(x, sigma) -> x0`` with classifier-free guidance on the x0
predictions (one batched pass of [cond, uncond], as ComfyUI's guider does).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from sde_edit.samplers import EPS, FLOW
from sde_edit.testing.schedules import sd_discrete_sigmas

from .learned_edit import INSTRUCTIONS, NULL_INSTRUCTION
from .learned_world import NULL_CLASS, NUM_CLASSES, SIZE

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
ARCHITECTURE = dict(sample_size=SIZE, in_channels=3, out_channels=3, layers_per_block=1,
                    block_out_channels=(32, 64, 64), down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
                    up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"), num_class_embeds=NUM_CLASSES + 1,
                    norm_num_groups=16, attention_head_dim=32)
EDIT_ARCHITECTURE = {**ARCHITECTURE, "in_channels": 6, "num_class_embeds": len(INSTRUCTIONS) + 1}
PARAMETERIZATIONS = {"eps": EPS, "flow": FLOW, "edit": FLOW}
NULL_LABELS = {"eps": NULL_CLASS, "flow": NULL_CLASS, "edit": NULL_INSTRUCTION}
LOG_SIGMAS = sd_discrete_sigmas().log()


def build_unet(kind: str = "eps") -> torch.nn.Module:
    import diffusers
    return diffusers.UNet2DModel(**(EDIT_ARCHITECTURE if kind == "edit" else ARCHITECTURE))


def timestep_of(sigma: torch.Tensor) -> torch.Tensor:
    """SD's (continuous) timestep of a noise level: log-sigma interpolated in the 1000-level table."""
    log_sigma = sigma.double().clamp(min=float(LOG_SIGMAS[0].exp()), max=float(LOG_SIGMAS[-1].exp())).log()
    index = torch.searchsorted(LOG_SIGMAS, log_sigma).clamp(1, len(LOG_SIGMAS) - 1)
    low, high = LOG_SIGMAS[index - 1], LOG_SIGMAS[index]
    return (index - 1 + (log_sigma - low) / (high - low)).float()


def predict_x0(unet, kind: str, x: torch.Tensor, sigma: torch.Tensor, labels: torch.Tensor,
               reference: torch.Tensor | None = None) -> torch.Tensor:
    """The clean estimate of state ``x`` at level ``sigma`` [B] (ComfyUI units) for class ``labels`` [B]
    (for ``edit``: instructions on the ``reference`` images [B, 3, H, W])."""
    view = sigma.view(-1, 1, 1, 1).to(x.dtype)
    if kind == "eps":
        eps = unet(x / (1 + view**2).sqrt(), timestep_of(sigma), class_labels=labels).sample
        return x - view * eps
    inputs = torch.cat([x, reference.to(x.dtype)], dim=1) if kind == "edit" else x
    velocity = unet(inputs, sigma.float() * 1000, class_labels=labels).sample
    return x - view * velocity


class LearnedDenoiser:
    """A trained model as the pack's denoiser ``(x, sigma) -> x0``: class ``labels`` (an int or [B]) with CFG
    ``cfg`` against the empty prompt; for ``edit``, the instructions apply to ``reference`` [B, 3, H, W], which
    both CFG branches see (as an edit model's reference latents). ``calls`` counts the batched model passes."""

    def __init__(self, unet, kind: str, labels, cfg: float = 1.0, reference: torch.Tensor | None = None):
        if (kind == "edit") != (reference is not None):
            raise ValueError("reference: an edit model needs its reference images, the other models take none")
        self.unet, self.kind, self.cfg, self.calls = unet, kind, float(cfg), 0
        self.labels, self.reference = labels, reference

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        labels = torch.as_tensor(self.labels).expand(x.shape[0]) if torch.as_tensor(self.labels).ndim == 0 else \
            torch.as_tensor(self.labels)
        reference = self.reference
        if labels.shape[0] != x.shape[0]:  # a batched call (e.g. SDE-Drag's current + recorded states)
            labels = labels.repeat(x.shape[0] // labels.shape[0])
            reference = None if reference is None else reference.repeat(x.shape[0] // reference.shape[0], 1, 1, 1)
        self.calls += 1
        with torch.no_grad():
            if self.cfg == 1.0:
                return predict_x0(self.unet, self.kind, x, sigma, labels, reference)
            both = predict_x0(self.unet, self.kind, torch.cat([x, x]), torch.cat([sigma, sigma]),
                              torch.cat([labels, torch.full_like(labels, NULL_LABELS[self.kind])]),
                              None if reference is None else torch.cat([reference, reference]))
            cond, uncond = both.chunk(2)
            return uncond + self.cfg * (cond - uncond)


def weights_path(kind: str) -> Path:
    return WEIGHTS_DIR / f"learned_{kind}.safetensors"


def save(unet, kind: str, metadata: dict, path: Path | None = None) -> Path:
    import safetensors.torch
    path = path or weights_path(kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().half().contiguous() for key, value in unet.state_dict().items()}
    safetensors.torch.save_file(state, str(path), metadata={"kind": kind, **{k: json.dumps(v) for k, v in
                                                                               metadata.items()}})
    return path


def load(kind: str, path: Path | None = None) -> torch.nn.Module:
    """A committed (or freshly trained) model, in float32 and eval mode."""
    import safetensors.torch
    unet = build_unet(kind)
    state = safetensors.torch.load_file(str(path or weights_path(kind)))
    unet.load_state_dict({key: value.float() for key, value in state.items()})
    return unet.eval().requires_grad_(False)
