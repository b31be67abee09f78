"""The one place that knows ComfyUI's internals: model type -> parameterisation, latents and masks in the
model's space, guiders, schedules, progress and previews, hooks, and ``PackSampler``, the base of the
pack's SAMPLERs (in the manner of core ``KSAMPLER``).

The node files only build schemas and call what is here and the plain-torch core in ``samplers``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import comfy.hooks
import comfy.model_management
import comfy.model_sampling
import comfy.sample
import comfy.samplers
import comfy.utils
import latent_preview
import torch

from ..samplers import EPS, InputError, Parameterization
from ..samplers.noise_levels import flow
from ..samplers.validation import check_choice


# ---- model type and latent format -------------------------------------------------------------------------

# Sampling types whose algebra the pack does not serve, by the name of their class in comfy.model_sampling.
REFUSED_SAMPLING = {
    "IMG_TO_IMG": "(Lotus) maps the image to its output in one step and is no denoiser of noisy latents, so "
                  "there is nothing to invert; run it with core KSampler as its template does",
    "IMG_TO_IMG_FLOW": "(Wan FlowRVS) outputs the result itself, not a denoised latent, so there is nothing to "
                       "invert; run it with core samplers as its template does",
    "ModelSamplingAV": "(MiniMax H3) packs audio on a schedule of its own into the latent; the SDE Edit samplers "
                       "serve image and video latents only, so use core samplers for it",
}
PROBE_SIGMAS = (0.25, 0.5, 0.75)


def parameterization_of(model_sampling) -> Parameterization:
    """The noise algebra of a model, read from its own ``model_sampling.noise_scaling``: ``x = a x0 + b eps``.

    ``a = 1, b = sigma`` is the EPS algebra (EPS, V, EDM, V-DDPM, Cosmos RFlow); ``a = 1 - sigma,
    b = s sigma`` the flow algebra with noise scale ``s`` (CONST). Anything else, and the sampling types
    of ``REFUSED_SAMPLING``, is refused by name.
    """
    kind = "+".join(base.__name__ for base in type(model_sampling).__bases__)  # ComfyUI's ModelSampling(s, c)
    for name, reason in REFUSED_SAMPLING.items():
        refused = getattr(comfy.model_sampling, name, None)
        if refused is not None and isinstance(model_sampling, refused):
            raise InputError(f"model: its sampling type {name} {reason}")
    sigma = torch.tensor(PROBE_SIGMAS, dtype=torch.float64)
    ones, zeros = torch.ones(len(sigma), 1, dtype=torch.float64), torch.zeros(len(sigma), 1, dtype=torch.float64)
    a = model_sampling.noise_scaling(sigma, zeros, ones)[:, 0]
    b = model_sampling.noise_scaling(sigma, ones, zeros)[:, 0]
    if torch.allclose(a, torch.ones_like(a), rtol=0, atol=1e-12) and torch.allclose(b, sigma, rtol=1e-12, atol=0):
        return EPS
    scale = float(b[0] / sigma[0])
    if torch.allclose(a, 1 - sigma, rtol=0, atol=1e-12) and torch.allclose(b, scale * sigma, rtol=1e-12, atol=0) \
            and scale > 0:
        return flow(scale)
    raise InputError(f"model: its sampling type {kind} mixes signal and noise as x = {float(a[1]):.4g} x0 + "
                     f"{float(b[1]):.4g} eps at sigma 0.5, neither the EPS/V algebra (x0 + sigma eps) nor the flow "
                     f"algebra ((1 - sigma) x0 + s sigma eps) that the SDE Edit samplers invert")


def check_single_latent(base_model, shapes: list[tuple[int, ...]], name: str = "latent") -> None:
    """A LATENT of several tensors (ComfyUI's NestedTensor: TripoSplat's shape code and camera token, an
    audio-video model's two streams) is refused by the model's name: the methods edit one latent tensor, and
    the flat pack core samples such a LATENT in has no rows or channels they could keep or mask."""
    if len(shapes) > 1:
        model_name = type(base_model.model_config).__name__
        raise InputError(f"{name}: {model_name} models take a LATENT of {len(shapes)} tensors "
                         f"{', '.join(str(tuple(shape)) for shape in shapes)}; the SDE Edit methods edit a single "
                         f"latent tensor and do not serve {model_name}")


def check_latent_shape(base_model, samples: torch.Tensor, name: str = "latent") -> None:
    """The latent's rank and channels against the model's latent format, before any model call."""
    latent_format = base_model.latent_format
    dims = getattr(latent_format, "latent_dimensions", 2)
    channels = latent_format.latent_channels
    if samples.ndim != 2 + dims or samples.shape[1] != channels:
        axes = ", ".join(["B", str(channels), *{1: ["L"], 2: ["H", "W"], 3: ["T", "H", "W"]}.get(dims, ["..."])])
        raise InputError(f"{name}: {type(base_model.model_config).__name__} models take latents [{axes}], got shape "
                         f"{tuple(samples.shape)}; encode the image with this model's VAE (or use its empty-latent "
                         f"node)")


def check_image_grid(base_model, samples: torch.Tensor, method: str) -> None:
    """A method that places points or masks on the image (SDE-Drag, inpainting) needs a latent with height and
    width; a 3D-shape or audio model's latent [B, C, L] has none."""
    if getattr(base_model.latent_format, "latent_dimensions", 2) < 2:
        raise InputError(f"latent: {method} works on an image grid (height and width), and "
                         f"{type(base_model.model_config).__name__} latents {tuple(samples.shape)} have none; use "
                         f"Cycle-SDE, sync-SDE or RF-Inversion with this model")


def model_latent(model, latent: dict, name: str = "latent", grid_for: str | None = None) -> torch.Tensor:
    """A LATENT's samples as SamplerCustomAdvanced prepares them (empty latents get the model's channels),
    checked against the model's latent format; ``grid_for``: the method that needs an image grid, if any."""
    if getattr(latent["samples"], "is_nested", False):
        check_single_latent(model.model, [tuple(tensor.shape) for tensor in latent["samples"].unbind()], name)
    samples = comfy.sample.fix_empty_latent_channels(model, latent["samples"])
    check_latent_shape(model.model, samples, name)
    if grid_for is not None:
        check_image_grid(model.model, samples, grid_for)
    return samples


def noise_mask(latent: dict, samples: torch.Tensor, name: str = "latent"):
    """The LATENT's noise_mask, whose batch must be 1 or the latent's (core would repeat or cut it silently)."""
    mask = latent.get("noise_mask")
    if mask is not None:
        if samples.ndim == 5:  # a video latent: ComfyUI reads a mask of fewer dims as the frames of one mask
            batch = mask.shape[0] if mask.ndim == 5 else 1
        else:
            batch = mask.numel() // (mask.shape[-1] * mask.shape[-2])
        if batch not in (1, samples.shape[0]):
            raise InputError(f"{name}: its noise_mask holds {batch} masks for a batch of {samples.shape[0]} latents; "
                             f"give one mask for all, or one per latent")
    return mask


def latent_with(latent: dict, samples: torch.Tensor, keep_mask: bool = True) -> dict:
    """A copy of a LATENT dict with new samples (and without its noise_mask unless ``keep_mask``)."""
    out = {key: value for key, value in latent.items() if keep_mask or key != "noise_mask"}
    out["samples"] = samples
    return out


# ---- conditioning and guiders ----------------------------------------------------------------------------

def guider_model(guider):
    """The MODEL (ModelPatcher) a GUIDER samples with."""
    return guider.model_patcher


def zeroed_conditioning(conditioning):
    """ConditioningZeroOut: the same conditioning with every tensor set to zero (an empty negative)."""
    out = []
    for tensor, extras in conditioning:
        extras = extras.copy()
        for key in ("pooled_output", "conditioning_lyrics"):
            if isinstance(extras.get(key), torch.Tensor):
                extras[key] = torch.zeros_like(extras[key])
        out.append([torch.zeros_like(tensor), extras])
    return out


def cfg_guider(model, positive, negative=None, cfg: float = 1.0):
    """Core CFGGuider; the negative defaults to the zeroed positive (an empty prompt)."""
    guider = comfy.samplers.CFGGuider(model)
    guider.set_conds(positive, negative if negative is not None else zeroed_conditioning(positive))
    guider.set_cfg(cfg)
    return guider


def positive_guider(model, conditioning):
    """A guider with one prompt and no guidance (core BasicGuider)."""
    guider = comfy.samplers.CFGGuider(model)
    guider.inner_set_conds({"positive": conditioning})
    return guider


class TwoBranchGuider(comfy.samplers.CFGGuider):
    """A CFGGuider with a second, source, branch: each branch has its own positive, negative and CFG.

    Called like any guider it predicts the target (so stock samplers sample the target prompt);
    ``source_denoiser`` runs the source branch through the same wrappers, ControlNets, hooks and patches.
    """

    def __init__(self, model, source, source_negative, source_cfg, target, target_negative, target_cfg):
        super().__init__(model)
        self.inner_set_conds({
            "positive": target,
            "negative": target_negative if target_negative is not None else zeroed_conditioning(target),
            "source_positive": source,
            "source_negative": source_negative if source_negative is not None else zeroed_conditioning(source)})
        self.cfg, self.source_cfg, self.branch = target_cfg, source_cfg, "target"

    def predict_noise(self, x, timestep, model_options={}, seed=None):
        if self.branch == "target":
            return super().predict_noise(x, timestep, model_options, seed)
        return comfy.samplers.sampling_function(self.inner_model, x, timestep, self.conds.get("source_negative"),
                                                self.conds.get("source_positive"), self.source_cfg,
                                                model_options=model_options, seed=seed)

    def source_denoiser(self, extra_args: dict):
        """The source branch as a core denoiser ``(x, sigma) -> x0``."""
        options, seed = extra_args.get("model_options", {}), extra_args.get("seed")

        def denoise(x, sigma):
            self.branch = "source"
            try:
                return self(x, sigma, model_options=options, seed=seed)
            finally:
                self.branch = "target"

        return denoise


def scheduled_lora(conditioning, lora: dict, keyframes: list[tuple[float, float]]):
    """Attach an in-memory LoRA (core Train LoRA's LORA_MODEL) to the conditioning through ComfyUI's hooks,
    with one (start_percent, strength) keyframe per step of its strength schedule."""
    hooks = comfy.hooks.create_hook_lora(lora=lora, strength_model=1.0, strength_clip=0.0)
    schedule = comfy.hooks.HookKeyframeGroup()
    for start_percent, strength in keyframes:
        schedule.add(comfy.hooks.HookKeyframe(strength=strength, start_percent=start_percent, guarantee_steps=0))
    hooks.set_keyframes_on_hooks(schedule)
    return comfy.hooks.set_hooks_for_conditioning(conditioning, hooks)


def restart_hook_keyframes(guider) -> None:
    """Rewind scheduled hooks (e.g. SDE-Drag LoRA Schedule) to their first keyframe.

    ComfyUI advances hook keyframes monotonically within one sampling run; SDE-Drag runs the schedule once
    per sub-drag, so each sub-drag rewinds them and, as ComfyUI does when a keyframe changes, drops the
    weights patched for the old strength.
    """
    patcher, rewound = guider.inner_model.current_patcher, []
    for entries in guider.conds.values():
        for entry in entries or []:
            if entry.get("hooks") is not None:
                entry["hooks"].reset()
                rewound.extend(entry["hooks"].hooks)
    if not rewound:
        return
    for cached in list(patcher.cached_hook_patches):
        if any(cached.contains(hook) for hook in rewound):
            patcher.cached_hook_patches.pop(cached)
    if patcher.current_hooks is not None:
        patcher.patch_hooks(None)


# ---- schedules and progress ------------------------------------------------------------------------------

def scheduler_names() -> list[str]:
    return list(comfy.samplers.SCHEDULER_NAMES)


def scheduler_sigmas(model, scheduler: str, steps: int, t0: float = 1.0, name: str = "t0") -> torch.Tensor:
    """``steps`` steps from ``t0`` (BasicScheduler's denoise) of the model's full schedule down to 0.

    The full schedule has ``steps / t0`` steps; a scheduler that cannot make that many (``ddim_uniform``
    takes every k-th of the model's timesteps) would start elsewhere than at t0, which is an error.
    """
    check_choice(scheduler, scheduler_names(), "scheduler")
    if steps < 1:
        raise InputError(f"steps: must be >= 1, got {steps}")
    if not 0.0 < t0 <= 1.0:
        raise InputError(f"{name}: must lie in (0, 1], got {t0}")
    total = max(steps, int(steps / t0))
    sigmas = comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), scheduler, total).cpu()
    if len(sigmas) - 1 != total:
        raise InputError(f"{name}: scheduler {scheduler!r} makes {len(sigmas) - 1} steps when asked for {total} "
                         f"(steps {steps} / {name} {t0:g}), so the run would not start at {name}; choose other "
                         f"steps or another scheduler")
    return sigmas[-(steps + 1):]


def progress(model, *steps: int) -> list[Callable]:
    """ComfyUI's progress bar with latent previews over one or more sampling passes of a node: one
    ``callback(step, x0, x, total)`` per pass, numbering the steps on across the passes."""
    total = sum(steps)
    bar = latent_preview.prepare_callback(model, total)

    def part(offset):
        def callback(step, x0, x, pass_total):
            bar(offset + step, x0, x, total if len(steps) > 1 else pass_total)
        return callback

    return [part(sum(steps[:i])) for i in range(len(steps))]


def send_to_client(event: str, data: dict) -> None:
    """A websocket message to the browser that queued the running prompt, as ComfyUI sends its own ``executed``;
    nothing when no prompt server runs (nodes called in-process) or the prompt came without a client id."""
    import server  # ComfyUI's server module, imported when used: it loads aiohttp and the web app

    prompt_server = getattr(server.PromptServer, "instance", None)
    if prompt_server is not None and prompt_server.client_id is not None:
        prompt_server.send_sync(event, data, prompt_server.client_id)


def run_sampler(guider, sampler, sigmas, samples: torch.Tensor, *, denoise_mask=None, callback=None,
                seed: int = 0, source: torch.Tensor | None = None) -> torch.Tensor:
    """Run one of the pack's samplers through ``guider.sample`` (model loading, conds, ControlNets, patches
    and ``process_latent_in/out`` by ComfyUI), as SamplerCustomAdvanced does; the noise is not used.

    With a ``denoise_mask``, a sampler that ends at a schedule's sigma 0 returns the ``source`` (LATENT space;
    default ``samples``) where the mask is 0. The core ends there on the source bit for bit in the model's
    space; ComfyUI's ``process_latent_out`` (scale and shift) brings that back only to within rounding, so the
    kept region is put back here, as the mask is read at the latent's shape by ComfyUI's sampler.
    """
    out = guider.sample(torch.zeros_like(samples), samples, sampler, sigmas, denoise_mask=denoise_mask,
                        callback=callback, disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED, seed=seed)
    out = out.to(comfy.model_management.intermediate_device())
    if denoise_mask is None or not sampler.ends_at_last_sigma or float(sigmas[-1]) != 0:
        return out
    kept = comfy.utils.reshape_mask(denoise_mask, out.shape).to(out.device) == 0
    return torch.where(kept, (samples if source is None else source).to(out), out)


# ---- the samplers' base ----------------------------------------------------------------------------------

@dataclass
class SamplerCall:
    """What a pack sampler's core call needs from one ``sample`` call of ComfyUI.

    ``latent`` is in the model's space (after ``process_latent_in``); ``denoiser`` is the guider as a core
    denoiser; ``core_callback`` the callback for progress, previews and interrupts; ``mask`` the noise mask
    (1 = editable) or None.
    """

    guider: comfy.samplers.CFGGuider
    sigmas: torch.Tensor
    latent: torch.Tensor
    mask: torch.Tensor | None
    param: Parameterization
    denoiser: Callable
    extra_args: dict
    callback: Callable | None
    last_sigma: float = field(default=float("inf"), init=False)

    @property
    def core_callback(self) -> Callable:
        return self.core_callback_from()

    def core_callback_from(self, offset: int = 0) -> Callable:
        """The callback the core's ``report`` calls after each step: progress, previews, interrupts. ``offset``:
        the schedule index of the first step run (a core loop that starts later in its schedule). A report may
        carry its own ``total`` (SDE-Drag's sub-drags)."""
        total = len(self.sigmas) - 1

        def report(info):
            comfy.model_management.throw_exception_if_processing_interrupted()
            if self.callback is not None:
                self.callback(info["i"] - offset, info["denoised"], info["x"], info.get("total", total))

        return report

    def model_space(self, latent: torch.Tensor) -> torch.Tensor:
        """A LATENT-space tensor (e.g. a node's LATENT input) in the model's space."""
        return self.guider.inner_model.process_latent_in(latent.to(self.latent))

    def with_latent_edit(self, state: torch.Tensor, edited: torch.Tensor) -> torch.Tensor:
        """``state`` (model space) plus the edit that turned its LATENT-space copy into ``edited``.

        Taking the difference in the LATENT's scale keeps an unedited copy bit-exact (its scale round trip
        would otherwise add rounding that reverse dynamics amplify).
        """
        model = self.guider.inner_model
        return state + (self.model_space(edited) - model.process_latent_in(model.process_latent_out(state)))

    def require_image_grid(self, method: str) -> None:
        check_image_grid(self.guider.inner_model, self.latent, method)

    def source_denoiser(self) -> Callable:
        """The source branch of the sync-SDE guider as a core denoiser (``denoiser`` is its target branch)."""
        if not isinstance(self.guider, TwoBranchGuider):
            raise InputError("guider: the sync-SDE sampler needs the sync-SDE Guider (it holds the source and "
                             f"the target prompt), got {type(self.guider).__name__}")
        return self.guider.source_denoiser(self.extra_args)

    def require(self, param: Parameterization, what: str) -> None:
        if self.param != param:
            raise InputError(f"guider: its model is {self.param.model_kind} but {what} {param.model_kind}; use "
                             f"the model family of the inversion")

    def guided(self, x: torch.Tensor, sigma: torch.Tensor, cfg: float) -> torch.Tensor:
        """The guider at its own CFG scale ``cfg``; a level above the previous call's starts the hook keyframes
        again (a new pass over the schedule, such as an SDE-Drag sub-drag)."""
        if float(sigma[0]) > self.last_sigma:
            restart_hook_keyframes(self.guider)
        self.last_sigma = float(sigma[0])
        self.guider.cfg = cfg
        return self.denoiser(x, sigma)

    @property
    def cfg(self) -> float:
        return float(getattr(self.guider, "cfg", 1.0))


class PackSampler(comfy.samplers.Sampler):
    """Base of the pack's SAMPLERs, as core ``KSAMPLER``: reads the model's parameterisation, wraps the guider
    as a core denoiser, checks the latent against the model, wires progress, previews and interrupts, runs
    the core (under ``torch.no_grad()``) and maps the result back with ``inverse_noise_scaling``.

    A subclass implements ``run(call) -> tensor`` (its core call), and ``check(call)`` for checks that
    explain a bad input better than the latent check that follows it. ``ends_at_last_sigma``: False for
    the inversions, whose result lies at the first sigma (no inverse scaling). The noise is not used.
    """

    ends_at_last_sigma = True

    def check(self, call: SamplerCall) -> None:
        pass

    def run(self, call: SamplerCall) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        model = model_wrap.inner_model
        if denoise_mask is not None and "denoise_mask_function" in extra_args.get("model_options", {}):
            raise InputError("model: a per-step mask patch (Differential Diffusion) is on the model, which the SDE "
                             "Edit samplers cannot apply: they keep the unedited region exactly on the recorded "
                             "path with the mask as given. Remove the Differential Diffusion node (a soft mask "
                             "still blends per pixel)")
        options, seed = extra_args.get("model_options", {}), extra_args.get("seed")

        def denoiser(x, sigma):
            return model_wrap(x, sigma, model_options=options, seed=seed)

        call = SamplerCall(model_wrap, sigmas, latent_image, denoise_mask, parameterization_of(model.model_sampling),
                           denoiser, extra_args, callback)
        # core samples a nested LATENT as one flat pack and sets the shapes it packed on the model for the run
        check_single_latent(model, list(getattr(model, "latent_shapes", None) or ()))
        self.check(call)
        check_latent_shape(model, latent_image)
        cfg = getattr(model_wrap, "cfg", None)
        try:
            with torch.no_grad():
                x = self.run(call)
        finally:
            if cfg is not None:
                model_wrap.cfg = cfg
        return model.model_sampling.inverse_noise_scaling(sigmas[-1], x) if self.ends_at_last_sigma else x
