"""The pack inside a real ComfyUI server, driven only through its HTTP API (and websocket).

One server per test session (``comfy_server.shared_server``): ComfyUI at ``COMFYUI_ROOT`` with the pack and
the test-only nodes (``tests/comfy_test_nodes``) symlinked into a temp ``custom_nodes``, a tiny SD2
checkpoint and a tiny Flux (built by the test nodes). Latents come back through core ``SaveLatent``
(.latent safetensors in the server's output dir) and are compared in latent space.

Snapshot: ``tests/data/pack_object_info.json`` is the pack's /object_info as served by ComfyUI 0.8.0.
Regenerate it (after an intended schema change) with ``SDE_EDIT_UPDATE_SNAPSHOT=1`` on 0.8.0.
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

import comfy_server
from conftest import rel_err
from comfy_server import FLUX_VAE, PACK_NODES, SD2_CKPT, TEST_IMAGE, Graph

pytestmark = pytest.mark.comfyui

SNAPSHOT = Path(__file__).resolve().parent / "data" / "pack_object_info.json"
EXACT = 1e-5  # relative L2 error allowed for "exact" reconstruction (float32 on the CPU)


@pytest.fixture(scope="session")
def server(request):
    return comfy_server.shared_server(request.config)


# ---- graph pieces --------------------------------------------------------------------------------------

def sd2_inputs(g: Graph, latent_kind: str):
    """Tiny SD2 checkpoint's MODEL and a latent: the test image through its TAESD, or a random one."""
    ckpt = g.node("CheckpointLoaderSimple", ckpt_name=SD2_CKPT)
    return ckpt.out(0), source_latent(g, latent_kind, ckpt.out(2), channels=4)


def flux_inputs(g: Graph, latent_kind: str):
    model = g.node("SDEEditTest_TinyFluxLoader", seed=0)
    vae = g.node("VAELoader", vae_name=FLUX_VAE)
    return model.out(0), source_latent(g, latent_kind, vae, channels=16)


def source_latent(g: Graph, latent_kind: str, vae, channels: int):
    """``image``: LoadImage -> VAEEncode. The random-weight TAESD encoders give nearly constant latents
    (about 1 +- 1e-3), so ``random`` (N(0,1) + channel offsets, the scale of real latents) is the main
    exactness case."""
    if latent_kind == "image":
        image = g.node("LoadImage", image=TEST_IMAGE)
        return g.node("VAEEncode", pixels=image.out(0), vae=vae)
    return g.node("SDEEditTest_RandomLatent", channels=channels, height=8, width=8, seed=11)


def conditioning(g: Graph, flux: bool, seed: int):
    if flux:
        return g.node("SDEEditTest_Conditioning", dim=32, tokens=8, pooled_dim=32, seed=seed, guidance=3.5)
    return g.node("SDEEditTest_Conditioning", dim=1024, tokens=4, pooled_dim=0, seed=seed, guidance=0.0)


def guider(g: Graph, model, positive, cfg: float):
    negative = g.node("ConditioningZeroOut", conditioning=positive)
    return g.node("CFGGuider", model=model, positive=positive, negative=negative, cfg=cfg)


def replay(g: Graph, trajectory, the_guider, sigmas, latent):
    sampler = g.node("SDEEdit_CycleSDESampler", trajectory=trajectory)
    return g.node("SamplerCustomAdvanced", noise=g.node("DisableNoise"), guider=the_guider, sampler=sampler,
                  sigmas=sigmas, latent_image=latent)


def save(g: Graph, latent, name: str):
    return g.node("SaveLatent", samples=latent, filename_prefix=f"sde_edit_tests/{name}")


def saved_latent(server, result, node):
    """The tensor a SaveLatent node wrote in this prompt."""
    import safetensors.torch
    info = result.outputs[node.id]["latents"][0]
    return safetensors.torch.load_file(str(server.output_file(info)))["latent_tensor"]


# SD2: EPS with CFG; Flux: CONST flow, cfg 1 (guidance in the conditioning), simple schedule.
# ``edit_effect``: the least relative change another target prompt makes on a random latent (the tiny
# depth-1 Flux reacts weakly to its conditioning: about 7e-4; the tiny SD2 with CFG 5: about 1).
SETUPS = {
    "sd2": dict(inputs=sd2_inputs, flux=False, cfg=5.0, scheduler="normal", steps=5, denoise=0.6,
                edit_effect=1e-2),
    "flux": dict(inputs=flux_inputs, flux=True, cfg=1.0, scheduler="simple", steps=6, denoise=0.8,
                 edit_effect=1e-4),
}


def composable_graph(setup: dict, target_seed: int, name: str, invert_seed: int = 42, latent_kind="random"):
    """Invert under the source guider once; replay with the source guider (reconstruct) and the target one."""
    g = Graph()
    model, latent = setup["inputs"](g, latent_kind)
    source = conditioning(g, setup["flux"], 1)
    source_guider = guider(g, model, source, setup["cfg"])
    sigmas = g.node("BasicScheduler", model=model, scheduler=setup["scheduler"], steps=setup["steps"],
                    denoise=setup["denoise"])
    invert = g.node("SDEEdit_CycleSDEInvert", guider=source_guider, sigmas=sigmas, latent=latent,
                    seed=invert_seed, eta=1.0, storage_dtype="float32")
    reconstruct = replay(g, invert.out(0), source_guider, sigmas, latent)
    target = conditioning(g, setup["flux"], target_seed)
    edit = replay(g, invert.out(0), guider(g, model, target, setup["cfg"]), sigmas, latent)
    nodes = dict(model=model, latent=latent, invert=invert, target=target,
                 save_source=save(g, latent, f"{name}_source"),
                 save_noisy=save(g, invert.out(1), f"{name}_noisy"),
                 save_reconstruct=save(g, reconstruct.out(0), f"{name}_reconstruct"),
                 save_edit=save(g, edit.out(0), f"{name}_edit"))
    return g, nodes


# ---- (a) schema ----------------------------------------------------------------------------------------

# What the pack's schemas define; ComfyUI adds fields of its own from version to version (api_node,
# python_module, output_matchtypes, dev_only, essentials_category, has_intermediate_output, multiselect, ...).
PACK_FIELDS = ("name", "display_name", "description", "category", "output_node", "input", "input_order", "output",
               "output_name", "output_tooltips", "output_is_list")
PACK_INPUT_OPTIONS = ("default", "min", "max", "step", "round", "tooltip", "options", "multiline",
                      "control_after_generate")


def normalise(entry: dict, live_schedulers: list) -> dict:
    """The fields of an /object_info entry that the pack defines, in a version-independent form.

    * Only ``PACK_FIELDS`` and, per input, its type and the ``PACK_INPUT_OPTIONS`` are kept.
    * ``scheduler`` combo options are ComfyUI's ``SCHEDULER_NAMES``: checked against the live KSampler's
      list, then replaced by a placeholder (a version adding a scheduler is not a pack change).
    """
    out = {key: copy.deepcopy(entry[key]) for key in PACK_FIELDS if key in entry}
    for section in out["input"].values():
        for name, spec in section.items():
            options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            section[name] = [spec[0], {key: options[key] for key in PACK_INPUT_OPTIONS if key in options}]
        scheduler = section.get("scheduler")
        if scheduler is not None and scheduler[0] == "COMBO":
            assert scheduler[1]["options"] == live_schedulers, scheduler
            scheduler[1]["options"] = "<comfy.samplers.SCHEDULER_NAMES>"
    return out


def test_pack_nodes_in_object_info(server):
    """The Cycle-SDE nodes with the documented inputs/outputs; every pack node's entry equals the snapshot."""
    everything = server.object_info()
    module = f"custom_nodes.{comfy_server.PACK_FOLDER}"
    info = {name: entry for name, entry in everything.items() if entry.get("python_module") == module}
    assert set(PACK_NODES) <= set(info), sorted(info)
    invert, sampler, edit = (info[name] for name in PACK_NODES)

    assert invert["input_order"] == {"required": ["guider", "sigmas", "latent", "seed", "eta", "storage_dtype"]}
    assert [invert["input"]["required"][k][0] for k in ("guider", "sigmas", "latent", "seed", "eta")] == \
        ["GUIDER", "SIGMAS", "LATENT", "INT", "FLOAT"]
    assert invert["input"]["required"]["seed"][1]["control_after_generate"] is True
    assert invert["input"]["required"]["storage_dtype"][1]["options"] == ["float32", "float16", "bfloat16"]
    assert invert["output"] == ["SDE_TRAJECTORY", "LATENT"]
    assert invert["output_name"] == ["trajectory", "noisy_latent"]

    assert sampler["input"]["required"] == {"trajectory": ["SDE_TRAJECTORY", sampler["input"]["required"]
                                                           ["trajectory"][1]]}
    assert sampler["input"]["optional"]["start_latent"][0] == "LATENT"
    assert sampler["output"] == ["SAMPLER"]

    assert edit["input_order"] == {"required": ["model", "source", "target", "latent", "steps", "t0", "cfg",
                                                "scheduler", "seed", "eta"], "optional": ["negative"]}
    assert edit["output"] == ["LATENT", "SDE_TRAJECTORY"]
    for name in PACK_NODES:
        assert info[name]["category"] == "sampling/sde_edit" and info[name]["output_node"] is False

    live_schedulers = everything["KSampler"]["input"]["required"]["scheduler"][0]
    snapshot = json.loads(SNAPSHOT.read_text())
    assert sorted(snapshot) == sorted(info), "pack nodes added/removed: run python -m tools.schema_snapshot --write"
    for name in sorted(info):
        assert normalise(info[name], live_schedulers) == normalise(snapshot[name], live_schedulers), name


# ---- (b), (c) exact reconstruction through SamplerCustomAdvanced -----------------------------------------

@pytest.mark.parametrize("latent_kind", ["random", "image"])
@pytest.mark.parametrize("kind", ["sd2", "flux"])
def test_invert_and_replay_with_source_guider_reconstructs(server, kind, latent_kind):
    g, n = composable_graph(SETUPS[kind], target_seed=2, name=f"roundtrip_{kind}_{latent_kind}",
                            latent_kind=latent_kind)
    result = server.queue_prompt(g.prompt)
    source = saved_latent(server, result, n["save_source"])
    reconstruction = saved_latent(server, result, n["save_reconstruct"])
    edited = saved_latent(server, result, n["save_edit"])
    noisy = saved_latent(server, result, n["save_noisy"])
    assert source.shape == ((1, 4, 8, 8) if kind == "sd2" else (1, 16, 8, 8))
    assert rel_err(reconstruction, source) <= EXACT
    # also against the structure of the latent (image latents are ~1 +- 1e-3: a plain relative error is lax)
    assert rel_err(reconstruction - source.mean(), source - source.mean()) <= 10 * EXACT
    assert rel_err(noisy, source) > 0.1  # the start state is noised, not the input
    if latent_kind == "random":  # a different target really edits
        assert rel_err(edited, source) > SETUPS[kind]["edit_effect"]


# ---- (d) all-in-one node ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sd2", "flux"])
def test_cycle_sde_edit_node(server, kind):
    setup = SETUPS[kind]
    g = Graph()
    model, latent = setup["inputs"](g, "random")
    source, target = conditioning(g, setup["flux"], 1), conditioning(g, setup["flux"], 2)
    common = dict(model=model, latent=latent, steps=setup["steps"], t0=setup["denoise"], cfg=setup["cfg"],
                  scheduler=setup["scheduler"], seed=7, eta=1.0)
    same = g.node("SDEEdit_CycleSDEEdit", source=source, target=source, **common)
    edit = g.node("SDEEdit_CycleSDEEdit", source=source, target=target, **common)
    # the composable nodes with the same settings must give the same edit
    source_guider = guider(g, model, source, setup["cfg"])
    sigmas = g.node("BasicScheduler", model=model, scheduler=setup["scheduler"], steps=setup["steps"],
                    denoise=setup["denoise"])
    invert = g.node("SDEEdit_CycleSDEInvert", guider=source_guider, sigmas=sigmas, latent=latent, seed=7,
                    eta=1.0, storage_dtype="float32")
    composed = replay(g, invert.out(0), guider(g, model, target, setup["cfg"]), sigmas, latent)
    saves = [save(g, x, f"edit_node_{kind}_{i}")
             for i, x in enumerate([latent, same.out(0), edit.out(0), composed.out(0)])]
    result = server.queue_prompt(g.prompt)
    source_latent, same_out, edit_out, composed_out = (saved_latent(server, result, s) for s in saves)
    assert rel_err(same_out, source_latent) <= EXACT
    assert rel_err(edit_out, source_latent) > setup["edit_effect"]
    assert rel_err(edit_out, composed_out) <= EXACT


# ---- (e) errors ------------------------------------------------------------------------------------------

def error_graph(case: str):
    setup = SETUPS["sd2"]
    g = Graph()
    model, latent = setup["inputs"](g, "random")
    source_guider = guider(g, model, conditioning(g, False, 1), setup["cfg"])
    sigmas = g.node("BasicScheduler", model=model, scheduler="normal", steps=4, denoise=0.6)
    invert_sigmas, replay_sigmas, replay_latent = sigmas, sigmas, latent
    if case == "latent_channels":  # a Flux-sized latent into the SD model
        latent = g.node("SDEEditTest_RandomLatent", channels=16, height=8, width=8, seed=11)
    if case == "replay_sigmas":
        replay_sigmas = g.node("BasicScheduler", model=model, scheduler="normal", steps=5, denoise=0.6)
    elif case == "flipped_sigmas":
        invert_sigmas = g.node("FlipSigmas", sigmas=sigmas)
    elif case == "latent_shape":
        replay_latent = g.node("EmptyLatentImage", width=128, height=64, batch_size=1)
    invert = g.node("SDEEdit_CycleSDEInvert", guider=source_guider, sigmas=invert_sigmas, latent=latent, seed=0,
                    eta=1.0, storage_dtype="float32")
    out = replay(g, invert.out(0), source_guider, replay_sigmas, replay_latent)
    save(g, out.out(0), f"error_{case}")
    return g


@pytest.mark.parametrize("case, failing_node, names", [
    ("replay_sigmas", "SamplerCustomAdvanced", "sigmas"),  # inversion and replay schedules differ
    ("flipped_sigmas", "SDEEdit_CycleSDEInvert", "sigmas"),  # ascending schedule
    ("latent_shape", "SamplerCustomAdvanced", "latent"),  # replay on a latent of another size
    ("latent_channels", "SDEEdit_CycleSDEInvert", "latent"),  # 16 channels into an SD model
])
def test_clear_execution_errors(server, case, failing_node, names):
    result = server.queue_prompt(error_graph(case).prompt, expect_success=False)
    assert result.status == "error"
    error = result.message("execution_error")
    assert error is not None, result.messages
    assert error["node_type"] == failing_node
    assert error["exception_type"].endswith("InputError"), error["exception_type"]
    message = error["exception_message"].strip()
    assert message.startswith(f"{names}:"), message
    assert "Traceback" not in message and "File \"" not in message and len(message) < 400, message
    ws_errors = [data for name, data in result.events if name == "execution_error"]
    if result.events:  # websocket-client present: the live event carries the same message
        assert ws_errors and ws_errors[0]["exception_message"] == error["exception_message"]


# ---- (f) caching -----------------------------------------------------------------------------------------

def test_changing_only_the_target_does_not_rerun_the_inversion(server):
    setup = SETUPS["sd2"]
    # an inversion seed no other test uses: the first run cannot hit the cache
    g1, n1 = composable_graph(setup, target_seed=2, name="cache", invert_seed=4242)
    first = server.queue_prompt(g1.prompt)
    g2, n2 = composable_graph(setup, target_seed=3, name="cache", invert_seed=4242)  # only the target seed differs
    assert {k: v for k, v in g1.prompt.items() if k != n1["target"].id} == \
        {k: v for k, v in g2.prompt.items() if k != n2["target"].id}
    # plus a fresh all-in-one edit with the new target: the cached trajectory must replay to the same edit
    model, latent = n2["model"], n2["latent"]
    fresh = g2.node("SDEEdit_CycleSDEEdit", model=model, source=conditioning(g2, False, 1),
                    target=conditioning(g2, False, 3), latent=latent, steps=setup["steps"], t0=setup["denoise"],
                    cfg=setup["cfg"], scheduler=setup["scheduler"], seed=4242, eta=1.0)
    save_fresh = save(g2, fresh.out(0), "cache_fresh")
    second = server.queue_prompt(g2.prompt)

    invert_id = n2["invert"].id
    cached = second.message("execution_cached")["nodes"]
    assert invert_id in cached, cached
    assert n2["target"].id not in cached
    if second.events:  # websocket: the inversion node never started executing, the edit branch did
        executed = second.executed_nodes()
        assert invert_id not in executed and n2["save_edit"].id in executed, executed
    assert invert_id not in first.message("execution_cached")["nodes"]

    edit_first = saved_latent(server, first, n1["save_edit"])
    edit_second = saved_latent(server, second, n2["save_edit"])
    assert rel_err(edit_second, edit_first) > setup["edit_effect"]  # the new target was used
    assert rel_err(edit_second, saved_latent(server, second, save_fresh)) <= EXACT
