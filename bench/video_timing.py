"""Seconds per step and trajectory bytes on a Wan 2.1-sized video latent: the pack's samplers next to core
``euler`` at equal model calls, in one run on this machine.

Needs a ComfyUI checkout (env ``COMFYUI_ROOT``, run with its Python): the model is ComfyUI's own Wan 2.1 class
(``comfy.supported_models.WAN21_T2V``) at a reduced width and depth with random weights, the latent that of a
480p clip of 81 frames, ``[1, 16, 21, 60, 104]``. Each method runs through its node (or SamplerCustomAdvanced)
exactly as in a workflow; the table gives seconds per model call and its ratio to core euler's, which is what
the model costs plus the sampler's own work per step::

    COMFYUI_ROOT=/path/to/ComfyUI /path/to/ComfyUI/venv/bin/python -m bench.video_timing [--steps 3] [--width 64]

Writes ``bench/out/video_timing.md`` and prints the same table.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
LATENT = (1, 16, 21, 60, 104)  # Wan 2.1 VAE: 480 x 832 px / 8, (81 - 1) / 4 + 1 frames


def tiny_wan(width: int, depth: int):
    sys.path.insert(0, str(ROOT / "tests"))
    import comfy_harness as harness
    harness.import_comfyui(os.environ["COMFYUI_ROOT"])
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.supported_models
    import comfy_families  # noqa: F401  (loads the family groups in their order)
    import comfy_families_video  # the tiny Wan 2.1 of the ComfyUI tier, widened and deepened here
    config = comfy.supported_models.WAN21_T2V(comfy_families_video._wan(dim=width, ffn_dim=2 * width,
                                                                          num_layers=depth))
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({})
    harness.init_weights(model.diffusion_model, 0)
    return harness, comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(),
                                                     offload_device=mm.unet_offload_device())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--width", type=int, default=64, help="transformer width (Wan 2.1 1.3B: 1536)")
    parser.add_argument("--depth", type=int, default=1, help="transformer blocks (Wan 2.1 1.3B: 30)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args(argv)
    if not os.environ.get("COMFYUI_ROOT"):
        parser.error("set COMFYUI_ROOT to a ComfyUI checkout and run with its Python")

    harness, model = tiny_wan(args.width, args.depth)
    from comfy_extras import nodes_custom_sampler as custom

    from sde_edit.nodes import cycle_sde, rf_inversion, sde_inpaint, sync_sde

    generator = torch.Generator().manual_seed(0)
    latent = {"samples": torch.randn(LATENT, generator=generator)}
    conditioning = [[torch.randn(1, 8, 4096, generator=generator), {}]]
    sigmas = harness.call_node(custom.BasicScheduler, model=model, scheduler="simple", steps=args.steps,
                               denoise=0.7)[0]
    counter = harness.ModelPassCounter(model)
    counted_guider = harness.call_node(custom.BasicGuider, model=counter.model, conditioning=conditioning)[0]  # CFG 1

    def advanced(sampler, the_sigmas=sigmas, the_latent=latent, the_guider=counted_guider):
        noise = harness.call_node(custom.RandomNoise, noise_seed=0)[0]
        return harness.call_node(custom.SamplerCustomAdvanced, noise=noise, guider=the_guider, sampler=sampler,
                                 sigmas=the_sigmas, latent_image=the_latent)[0]

    state = {}

    def invert():
        state["trajectory"] = harness.call_node(cycle_sde.CycleSDEInvertNode, guider=counted_guider, sigmas=sigmas,
                                                latent=latent, seed=0, eta=1.0, storage_dtype="float32")[0]

    mask = torch.zeros(1, *LATENT[-2:])
    mask[..., : LATENT[-1] // 2] = 1.0
    runs = [
        ("core euler (KSAMPLER)", lambda: advanced(harness.call_node(custom.KSamplerSelect, sampler_name="euler")[0])),
        ("Cycle-SDE Invert", invert),
        ("Cycle-SDE replay", lambda: advanced(harness.call_node(cycle_sde.CycleSDESamplerNode,
                                                                trajectory=state["trajectory"])[0])),
        ("sync-SDE (ddpm)", lambda: harness.call_node(
            sync_sde.SyncSDEEditNode, model=counter.model, source=conditioning, target=conditioning, latent=latent,
            steps=args.steps + 1, start_step=1, source_cfg=1.0, target_cfg=1.0, scheduler="simple",
            discretisation="ddpm", seed=0)),
        ("SDE inpainting", lambda: advanced(harness.call_node(sde_inpaint.SDEInpaintSamplerNode, eta=1.0, seed=0)[0],
                                            the_latent={**latent, "noise_mask": mask})),
        ("RF-Inversion Edit (forward + reverse)", lambda: harness.call_node(
            rf_inversion.RFInversionEditNode, model=counter.model, target=conditioning, latent=latent, preset="custom",
            steps=args.steps, start_step=0, gamma=0.5, eta=0.9, eta_start=0, eta_stop=args.steps,
            eta_trend="constant", stochastic=False, cfg=1.0, scheduler="simple", seed=0)),
    ]
    rows = []
    with torch.inference_mode():
        for name, run in runs:
            counter.calls = 0
            start = time.perf_counter()
            run()
            seconds = time.perf_counter() - start
            rows.append((name, counter.calls, seconds))
    per_call = {name: seconds / calls for name, calls, seconds in rows}
    euler = per_call[rows[0][0]]
    trajectory = state["trajectory"]
    latent_mib = latent["samples"].nbytes / 2**20
    lines = [f"Wan 2.1 class, width {args.width}, {args.depth} block(s), random weights; latent {list(LATENT)} "
             f"({latent_mib:.1f} MiB float32); {args.steps} steps from t0 0.7; CFG 1; {torch.get_num_threads()} "
             f"CPU threads, torch {torch.__version__}.", "",
             "| sampler | model calls | seconds | seconds per call | ratio to core euler |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {calls} | {seconds:.2f} | {seconds / calls:.2f} | {seconds / calls / euler:.2f} |"
              for name, calls, seconds in rows]
    lines += ["", f"Cycle-SDE trajectory: the source, the top state and {trajectory.source_means.shape[0]} step means "
              f"= {trajectory.nbytes / 2**20:.0f} MiB on the CPU in float32 ({args.steps + 2} latents of "
              f"{latent_mib:.1f} MiB; the recorded states are drawn again from the seed during the replay, the "
              f"{2 * args.steps + 1} latents kept before took {(2 * args.steps + 1) * latent_mib:.0f} MiB); "
              f"float16 / bfloat16 storage halves the step means and the top state."]
    text = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "video_timing.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
