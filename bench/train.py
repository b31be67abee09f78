"""Train the learned models of ``learned_models`` on fresh ``learned_world`` scenes, seeded and logged.

    python -m bench.train                      # both denoisers, writes bench/weights/learned_{eps,flow}.safetensors
    python -m bench.train --kind flow --steps 300 --out /tmp/try
    python -m bench.train --kind edit          # the instruction-edit model, bench/weights/learned_edit.safetensors

Every batch is new scenes (nothing to memorise), labels are dropped to the empty prompt with probability
0.15 (so CFG works), the weights are an exponential moving average. The log (``train_<kind>.csv``) and a loss
curve (``train_<kind>.png``) go next to the weights. After training, the quality gate samples every label
(``GATE_SAMPLES`` each, 30 DDIM / Euler steps at CFG 3) and prints the share the detector recognises as that
label's shape, colour and position; ``gate`` fails below ``GATE_SHARE``. The edit model trains on
``learned_edit``'s misaligned pairs; its gate (``edit_gate``) edits ``EDIT_GATE_CASES`` held-out scenes from noise
with the reference and fails when the detector reads the asked attribute in fewer than ``EDIT_GATE_SHARE`` of
the recolours or of the reshapes.
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import torch

from sde_edit.samplers import EPS, FLOW
from sde_edit.testing.schedules import flow_schedule, sd_discrete_sigmas, sd_uniform_schedule

from . import learned_edit
from .learned_models import WEIGHTS_DIR, LearnedDenoiser, build_unet, save
from .learned_world import (CELLS, COLOURS, NULL_CLASS, SHAPES, SIZE, cell_of, detect,
                            label_of, random_scene, render)

BATCH = 64
LABEL_DROPOUT = 0.15
EMA_DECAY = 0.998
GATE_SAMPLES = 2
GATE_CFG = 3.0
GATE_STEPS = 30
GATE_SHARE = {"shape": 0.7, "colour": 0.8, "position": 0.8}
CELL_MARGIN = 1.0  # pixels of slack at a cell's border for the position check (the detector's centroid error)
EDIT_GATE_CASES = 48
EDIT_GATE_SEED = 10_000  # held out: training draws its pairs from --seed's generator
EDIT_GATE_SHARE = 0.8


def batch(generator: torch.Generator, n: int = BATCH) -> tuple[torch.Tensor, torch.Tensor]:
    scenes = [random_scene(generator) for _ in range(n)]
    labels = torch.tensor([scene.label for scene in scenes])
    drop = torch.rand(n, generator=generator) < LABEL_DROPOUT
    return torch.stack([render(scene) for scene in scenes]), torch.where(drop, NULL_CLASS, labels)


def training_batch(kind: str, generator: torch.Generator):
    """(x0, labels, references): fresh scenes for a denoiser, fresh misaligned pairs for the edit model."""
    if kind == "edit":
        references, targets, instructions = learned_edit.batch(generator, BATCH)
        return targets, instructions, references
    return *batch(generator), None


def loss_of(unet, kind: str, x0: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
            reference: torch.Tensor | None = None) -> torch.Tensor:
    noise = torch.randn(x0.shape, generator=generator)
    if kind == "eps":  # DDPM loss on SD1.x's schedule, at a uniform timestep
        sigmas = sd_discrete_sigmas().float()
        t = torch.randint(0, len(sigmas), (x0.shape[0],), generator=generator)
        alpha_bar = (1 / (1 + sigmas[t] ** 2)).view(-1, 1, 1, 1)
        x_t = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
        return (unet(x_t, t, class_labels=labels).sample - noise).pow(2).mean()
    t = torch.rand(x0.shape[0], generator=generator)  # rectified flow: velocity eps - x0 at a uniform time
    view = t.view(-1, 1, 1, 1)
    x_t = (1 - view) * x0 + view * noise
    inputs = x_t if reference is None else torch.cat([x_t, reference], dim=1)
    return (unet(inputs, t * 1000, class_labels=labels).sample - (noise - x0)).pow(2).mean()


def train(kind: str, steps: int, seed: int, lr: float = 2e-3, log=print):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    unet = build_unet(kind).train()
    ema = copy.deepcopy(unet).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / steps)))
    history, start = [], time.perf_counter()
    for step in range(steps):
        x0, labels, references = training_batch(kind, generator)
        loss = loss_of(unet, kind, x0, labels, generator, references)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            for average, live in zip(ema.parameters(), unet.parameters()):
                average.lerp_(live, 1 - EMA_DECAY)
        history.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            log(f"[{kind}] step {step + 1}/{steps} loss {sum(history[-50:]) / len(history[-50:]):.4f} "
                f"({time.perf_counter() - start:.0f} s)")
    return ema, history, time.perf_counter() - start


def sample(unet, kind: str, labels: torch.Tensor, seed: int = 0, cfg: float = GATE_CFG,
           steps: int = GATE_STEPS, reference: torch.Tensor | None = None) -> torch.Tensor:
    """Deterministic DDIM (EPS) / Euler (flow, edit) samples of ``labels`` with the pack's noise algebra."""
    sigmas = sd_uniform_schedule(steps) if kind == "eps" else flow_schedule(steps)
    return sample_from_noise(LearnedDenoiser(unet, kind, labels, cfg, reference), EPS if kind == "eps" else FLOW,
                             sigmas, len(labels), seed)


def sample_from_noise(denoiser, param, sigmas: list[float], n: int, seed: int) -> torch.Tensor:
    """``n`` deterministic (eta 0) samples of ``denoiser`` from seeded noise at ``sigmas[0]``."""
    generator = torch.Generator().manual_seed(seed)
    x = sigmas[0] * torch.randn(n, 3, SIZE, SIZE, generator=generator)
    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:]):
        x0 = denoiser(x, torch.full((n,), sigma))
        x = param.ddim_mean(x, x0, sigma, sigma_next, 0.0)[0]
    return x


def recognised(image: torch.Tensor, shape: str, colour: str, cell: tuple[int, int]) -> dict:
    """Which of a label's attributes the detector reads in an image."""
    found = detect(image)
    if not found.found:
        return {"shape": False, "colour": False, "position": False}
    near = [cell_of(found.cx + dx, found.cy + dy) for dx in (-CELL_MARGIN, 0, CELL_MARGIN)
            for dy in (-CELL_MARGIN, 0, CELL_MARGIN)]
    return {"shape": found.shape == shape, "colour": found.colour == colour, "position": cell in near}


def gate(unet, kind: str, log=print) -> dict:
    """Share of samples per label that show the label's shape, colour and position; the means over labels."""
    labels = [(shape, colour, (col, row)) for shape in SHAPES for colour in COLOURS for row in range(CELLS)
              for col in range(CELLS)]
    ids = torch.tensor([label_of(*label) for label in labels for _ in range(GATE_SAMPLES)])
    images = sample(unet, kind, ids)
    per_label = {attribute: [] for attribute in ("shape", "colour", "position", "all")}
    for index, label in enumerate(labels):
        checks = [recognised(images[index * GATE_SAMPLES + j], *label) for j in range(GATE_SAMPLES)]
        for attribute in ("shape", "colour", "position"):
            per_label[attribute].append(sum(c[attribute] for c in checks) / GATE_SAMPLES)
        per_label["all"].append(sum(all(c.values()) for c in checks) / GATE_SAMPLES)
    shares = {attribute: sum(values) / len(values) for attribute, values in per_label.items()}
    passed = all(shares[attribute] >= threshold for attribute, threshold in GATE_SHARE.items())
    log(f"[{kind}] quality gate ({len(labels)} labels x {GATE_SAMPLES} samples, CFG {GATE_CFG:g}, {GATE_STEPS} steps): "
        + ", ".join(f"{attribute} {share:.0%}" for attribute, share in shares.items())
        + f" -> {'pass' if passed else 'FAIL'} (needs " + ", ".join(f"{a} >= {t:.0%}" for a, t in GATE_SHARE.items()) + ")")
    return {"shares": shares, "passed": passed}


def edit_gate(unet, log=print) -> dict:
    """Share of held-out edits, sampled from noise with the reference, whose asked attribute the detector reads
    (with the other attribute kept), per task."""
    cases = learned_edit.held_out_edits(EDIT_GATE_CASES, EDIT_GATE_SEED)
    references = torch.stack([render(scene) for scene, _ in cases])
    ids = torch.tensor([learned_edit.instruction_id(instruction) for _, instruction in cases])
    images = sample(unet, "edit", ids, reference=references)
    reached = {"recolour": [], "reshape": []}
    for image, (scene, instruction) in zip(images, cases):
        reached[instruction.split(" ")[0]].append(learned_edit.edit_reached(image, scene, instruction))
    shares = {task: sum(values) / len(values) for task, values in reached.items()}
    passed = all(share >= EDIT_GATE_SHARE for share in shares.values())
    log(f"[edit] quality gate ({EDIT_GATE_CASES} held-out edits, CFG {GATE_CFG:g}, {GATE_STEPS} steps): "
        + ", ".join(f"{task} {share:.0%}" for task, share in shares.items())
        + f" -> {'pass' if passed else 'FAIL'} (needs each >= {EDIT_GATE_SHARE:.0%})")
    return {"shares": shares, "passed": passed}


def plot_loss(history: list[float], path: Path, title: str) -> None:
    from PIL import Image, ImageDraw
    width, height, margin = 640, 320, 40
    window = max(1, len(history) // 100)
    smooth = [sum(history[max(0, i - window):i + 1]) / len(history[max(0, i - window):i + 1])
              for i in range(len(history))]
    low, high = min(smooth), max(smooth)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([margin, margin // 2, width - 10, height - margin], outline="black")
    points = [(margin + (width - 10 - margin) * i / max(1, len(smooth) - 1),
               height - margin - (height - 1.5 * margin) * (math.log(v) - math.log(low)) /
               max(1e-9, math.log(high) - math.log(low))) for i, v in enumerate(smooth)]
    draw.line(points, fill=(30, 90, 200), width=2)
    draw.text((margin, 2), f"{title}: training loss (log scale, {low:.3f} .. {high:.3f}), {len(history)} steps",
              fill="black")
    image.save(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["eps", "flow", "both", "edit"], default="both",
                        help="both: the eps and flow denoisers; edit: the instruction-edit model")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    ok = True
    for kind in (["eps", "flow"] if args.kind == "both" else [args.kind]):
        lines = []

        def log(line):
            print(line, flush=True)
            lines.append(line)

        unet, history, seconds = train(kind, args.steps, args.seed, log=log)
        result = edit_gate(unet, log=log) if kind == "edit" else gate(unet, kind, log=log)
        ok &= result["passed"]
        metadata = {"steps": args.steps, "seed": args.seed, "batch": BATCH, "seconds": round(seconds),
                    "final_loss": sum(history[-100:]) / len(history[-100:]), "gate": result["shares"],
                    "torch": torch.__version__, "threads": torch.get_num_threads()}
        save(unet, kind, metadata, args.out / f"learned_{kind}.safetensors")
        (args.out / f"train_{kind}.csv").write_text("step,loss\n" + "".join(f"{i + 1},{v:.6f}\n"
                                                                          for i, v in enumerate(history)))
        (args.out / f"train_{kind}.log").write_text("\n".join(lines) + "\n")
        plot_loss(history, args.out / f"train_{kind}.png", f"{kind} ({seconds / 60:.0f} min)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
