"""Seconds per edit and peak GPU memory of SDE-Drag, sync-SDE and RF-Inversion with random-weight full-size
SD1.5 (UNet) and Flux (transformer) architectures (timing needs no trained weights):

    python -m bench.gpu_timing --device cuda [--models sd15 flux] [--sizes 512 1024] [--out DIR]
    python -m bench.gpu_timing --tiny --device cpu      # smoke test of the same code path

Per edit: SDE-Drag = one sub-drag, 30 steps from t0 0.6 (the node's fast preset), batched current and
recorded states with CFG 3; sync-SDE = 28 steps from step 4 (2 calls per step); RF-Inversion = 28 forward
plus 28 reverse steps. Models run in bfloat16 (fp32 on the CPU), one image, text lengths of the real models
(77 CLIP tokens for SD1.5, 512 T5 tokens for Flux).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.diffusers_denoisers import FluxDenoiser, UNetDenoiser
from sde_edit.samplers import EPS, FLOW
from sde_edit.samplers.sync_sde import sync_sde
from sde_edit.samplers.sde_drag import DragSettings, sde_drag
from sde_edit.samplers.rf_inversion import rf_edit, rf_invert
from sde_edit.testing.schedules import flow_schedule, sd_uniform_schedule

MODELS = {
    "sd15": {"full": dict(sample_size=64, in_channels=4, out_channels=4, block_out_channels=(320, 640, 1280, 1280),
                          layers_per_block=2, cross_attention_dim=768, attention_head_dim=8,
                          down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                          up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3),
             "tiny": dict(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(32, 64),
                          layers_per_block=1, cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8,
                          down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                          up_block_types=("UpBlock2D", "CrossAttnUpBlock2D")),
             "channels": 4, "tokens": {"full": 77, "tiny": 7}},
    "flux": {"full": dict(patch_size=1, in_channels=64, num_layers=19, num_single_layers=38, attention_head_dim=128,
                          num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768,
                          guidance_embeds=True, axes_dims_rope=(16, 56, 56)),
             "tiny": dict(patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
                          num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32,
                          guidance_embeds=True, axes_dims_rope=(4, 6, 6)),
             "channels": {"full": 16, "tiny": 4}, "tokens": {"full": 512, "tiny": 7}},
}
STEPS = 28


def build(name: str, size: str, device, dtype):
    """A random-weight model and a factory of denoisers ``(cfg) -> denoiser`` with its parameterisation."""
    import diffusers
    spec = MODELS[name]
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            torch.manual_seed(0)
            if name == "sd15":
                model = diffusers.UNet2DConditionModel(**spec[size]).eval()
            else:
                model = diffusers.FluxTransformer2DModel(**spec[size]).eval()
    finally:
        torch.set_default_dtype(previous)
    config = spec[size]
    width = config.get("cross_attention_dim") or config["joint_attention_dim"]
    generator = torch.Generator().manual_seed(1)
    cond = torch.randn(1, spec["tokens"][size], width, generator=generator).to(device, dtype)
    uncond = torch.zeros_like(cond)
    if name == "sd15":
        return model, (lambda cfg: UNetDenoiser(model, "eps", cond, uncond, cfg)), EPS
    pooled = torch.randn(1, config["pooled_projection_dim"], generator=generator).to(device, dtype)
    return model, (lambda cfg: FluxDenoiser(model, cond, pooled, uncond, torch.zeros_like(pooled), cfg,
                                            guidance=3.5)), FLOW


def edits(make, param, latent):
    """The three timed edits, each a zero-argument callable."""
    def schedule(steps, t0=1.0):
        return flow_schedule(steps, t0, shift=3.0) if param is FLOW else sd_uniform_schedule(steps, t0)

    full, cells = schedule(STEPS), latent.shape[-1]
    pair = [((cells // 4, cells // 2), (cells // 2, cells // 2))]

    def drag():
        return sde_drag(lambda x, sigma, cfg: make(cfg)(x, sigma), latent, schedule(30, 0.6), param, pair,
                        settings=DragSettings(subdrag_step=float(cells)), seed=0)

    def sync():
        return sync_sde(make(1.0), make(1.0), latent, full[4:], param, seed=0)

    def rf():
        inverted = rf_invert(make(1.0), latent, full, param, gamma=0.5, seed=0)
        return rf_edit(make(1.0), inverted, latent, full, param, eta=0.9, eta_stop=6)

    return {"SDE-Drag": drag, "sync-SDE": sync, "RF-Inversion": rf}


def measure(fn, device) -> tuple[float, float]:
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    begin = time.perf_counter()
    with torch.inference_mode():
        out = fn()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - begin
    assert torch.isfinite(out).all()
    return seconds, (round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024], help="image sizes in pixels")
    parser.add_argument("--tiny", action="store_true", help="tiny configs (a CPU smoke test of the code path)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args(argv)
    size = "tiny" if args.tiny else "full"
    dtype = torch.float32 if torch.device(args.device).type == "cpu" else torch.bfloat16
    device_name = torch.cuda.get_device_name(args.device) if torch.device(args.device).type == "cuda" else "CPU"
    rows = []
    for name in args.models:
        model, make, param = build(name, size, args.device, dtype)
        channels = MODELS[name]["channels"]
        channels = channels if isinstance(channels, int) else channels[size]
        for pixels in args.sizes:
            latent = torch.randn(1, channels, pixels // 8, pixels // 8, generator=torch.Generator().manual_seed(2))
            latent = latent.to(args.device, dtype)
            for editor, fn in edits(make, param, latent).items():
                if not rows or rows[-1]["model"] != name:
                    measure(fn, args.device)  # warm-up (kernels, allocator)
                seconds, memory = measure(fn, args.device)
                rows.append({"model": name, "image": f"{pixels}x{pixels}", "editor": editor,
                             "seconds_per_edit": round(seconds, 2), "peak_memory_gib": memory,
                             "device": device_name, "weights": "random, " + size})
                print(f"{name:5} {pixels:5}px {editor:13} {seconds:8.2f} s  peak {memory} GiB  ({device_name})")
        del model
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_timing.json").write_text(json.dumps(rows, indent=1))
    lines = ["| model | image | editor | s / edit | peak GiB | device |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['image']} | {r['editor']} | {r['seconds_per_edit']} | {r['peak_memory_gib']} | "
              f"{r['device']} |" for r in rows]
    (args.out / "gpu_timing.md").write_text("\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    main()
