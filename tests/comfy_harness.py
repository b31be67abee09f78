"""ComfyUI-tier helpers: import a ComfyUI checkout on the CPU and build tiny random-weight models.

Used by the ``comfyui``-marked tests (in-process) and by the test-only custom node pack
``tests/comfy_test_nodes`` (over HTTP). Nothing here is downloaded: every model is built from a
config with seeded weights.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import torch


def import_comfyui(root: str | os.PathLike | None = None):
    """Put a ComfyUI checkout on sys.path and select the CPU before ``comfy.model_management`` loads."""
    root = str(root or os.environ["COMFYUI_ROOT"])
    if root not in sys.path:
        sys.path.insert(0, root)
    import comfy.cli_args
    comfy.cli_args.args.cpu = True
    import comfy.model_management  # noqa: F401  (after the CPU switch)
    return root


def init_weights(module: torch.nn.Module, seed: int = 0) -> None:
    """ComfyUI builds layers without initialising them: 1-D weights/scales 1, biases 0, matrices N(0, 0.02)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.endswith("bias"):
                param.zero_()
            elif param.ndim <= 1:
                param.fill_(1.0)
            else:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.02)


TINY_SD20_UNET = {
    "model_channels": 320, "in_channels": 4, "out_channels": 4, "num_res_blocks": [1], "channel_mult": [1],
    "transformer_depth": [1], "transformer_depth_output": [0, 0], "transformer_depth_middle": -2,
    "context_dim": 1024, "use_linear_in_transformer": True, "adm_in_channels": None, "image_size": 32,
    "use_spatial_transformer": True, "legacy": False, "use_temporal_attention": False,
    "use_temporal_resblock": False, "num_head_channels": 64,
}

TINY_FLUX = {
    "image_model": "flux", "in_channels": 16, "out_channels": 16, "vec_in_dim": 32, "context_in_dim": 32,
    "hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1,
    "axes_dim": [8, 12, 12], "theta": 10000, "patch_size": 2, "qkv_bias": True, "guidance_embed": True,
}


def tiny_taesd_state_dict(latent_channels: int, seed: int = 1) -> dict:
    from comfy.taesd.taesd import TAESD
    vae = TAESD(latent_channels=latent_channels)
    init_weights(vae, seed)
    return vae.state_dict()


def write_tiny_sd_checkpoint(path: str | os.PathLike, seed: int = 0) -> Path:
    """A tiny SD2-detectable (EPS) checkpoint with a TAESD VAE and no text encoder (about 32 MB)."""
    import comfy.supported_models
    import safetensors.torch

    config = comfy.supported_models.SD20(dict(TINY_SD20_UNET))
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({})
    init_weights(model.diffusion_model, seed)
    state = {"model.diffusion_model." + k: v.half() for k, v in model.diffusion_model.state_dict().items()}
    state.update({"first_stage_model." + k: v for k, v in tiny_taesd_state_dict(4).items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(state, str(path))
    return path


def _save(state: dict, path: str | os.PathLike) -> Path:
    import safetensors.torch
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({key: value.contiguous() for key, value in state.items()}, str(path))
    return path


def write_tiny_flux_vae(path: str | os.PathLike, latent_channels: int = 16) -> Path:
    """A TAESD VAE (taef1-shaped for 16 channels, taesd for 4) with random weights, loadable by VAELoader."""
    return _save(tiny_taesd_state_dict(latent_channels), path)


def write_tiny_wan21_vae(path: str | os.PathLike, seed: int = 1) -> Path:
    """A Wan 2.1 VAE (16 channels, 8x, video-shaped latents: Qwen-Image's VAE) with random weights.

    From ComfyUI 0.8 on the loader reads the VAE's width from the file, so it is tiny (8); 0.3.64 builds
    the full width (96) whatever the file holds, so the file must have it.
    """
    import inspect

    import comfy.ldm.wan.vae
    import comfy.sd
    reads_width = 'sd["decoder.head.0.gamma"]' in inspect.getsource(comfy.sd.VAE.__init__)
    vae = comfy.ldm.wan.vae.WanVAE(dim=8 if reads_width else 96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                                   attn_scales=[], temperal_downsample=[False, True, True], dropout=0.0)
    init_weights(vae, seed)
    return _save({key: value.half() for key, value in vae.state_dict().items()}, path)


def write_random_flux2_vae(path: str | os.PathLike, seed: int = 1) -> Path:
    """FLUX.2's VAE (32 x 2 x 2 = 128 latent channels at 16x, batch-normed latents) with random weights, at the
    full width ComfyUI builds it with (its loader takes only the latent width from the file)."""
    from comfy.ldm.models.autoencoder import AutoencoderKL
    ddconfig = {"double_z": True, "z_channels": 32, "resolution": 256, "in_channels": 3, "out_ch": 3, "ch": 128,
                "ch_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_resolutions": [], "dropout": 0.0,
                "batch_norm_latent": True}
    vae = AutoencoderKL(ddconfig=ddconfig, embed_dim=32)
    init_weights(vae, seed)
    return _save({key: value.half() if value.is_floating_point() else value for key, value in vae.state_dict().items()},
                 path)


def tiny_flux_model(seed: int = 0):
    """A tiny Flux (CONST) ModelPatcher built in Python: checkpoint detection needs hidden size 3072."""
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.supported_models

    import comfy.ldm.flux.model

    unet_config = dict(TINY_FLUX)
    if "txt_ids_dims" in comfy.ldm.flux.model.FluxParams.__dataclass_fields__:  # newer than 0.3.x
        unet_config["txt_ids_dims"] = []
    config = comfy.supported_models.Flux(unet_config)
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({})
    init_weights(model.diffusion_model, seed)
    return comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def sd2_conditioning(seed: int = 0, tokens: int = 4):
    generator = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, tokens, 1024, generator=generator), {}]]


def flux_conditioning(seed: int = 0, tokens: int = 8, guidance: float = 3.5):
    generator = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, tokens, 32, generator=generator),
             {"pooled_output": torch.randn(1, 32, generator=generator), "guidance": guidance}]]


def call_node(node_class, **inputs) -> tuple:
    """Run a node class in-process, V1 (``FUNCTION``) or V3 (``execute``), and return its outputs."""
    if hasattr(node_class, "define_schema"):
        return tuple(node_class.execute(**inputs).args)
    return tuple(getattr(node_class(), node_class.FUNCTION)(**inputs))


def call_node_with_defaults(node_class, **inputs) -> tuple:
    """``call_node`` with every widget input the node declares at its default unless given: a core node that
    gains inputs in a newer ComfyUI (Train LoRA in 0.33) still runs. V3 nodes with ``is_input_list`` get
    each input as a one-element list, as ComfyUI passes them."""
    if hasattr(node_class, "define_schema"):
        schema = node_class.define_schema()
        defaults = {item.id: item.default for item in schema.inputs if getattr(item, "default", None) is not None}
        values = {**defaults, **inputs}
        if schema.is_input_list:
            values = {key: [value] for key, value in values.items()}
        return call_node(node_class, **values)
    declared = node_class.INPUT_TYPES()
    defaults = {name: spec[1]["default"] for section in ("required", "optional")
                for name, spec in declared.get(section, {}).items()
                if len(spec) > 1 and isinstance(spec[1], dict) and "default" in spec[1]}
    return call_node(node_class, **{**defaults, **inputs})


def output_index(node_class, io_type: str) -> int:
    """Position of a node's output of type ``io_type`` (core nodes reorder their outputs between releases)."""
    if hasattr(node_class, "define_schema"):
        types = [output.io_type for output in node_class.define_schema().outputs]
    else:
        types = list(node_class.RETURN_TYPES)
    return types.index(io_type)


class ModelPassCounter:
    """Counts diffusion-model forward passes (and their batch sizes and the keys of the conditioning each one
    gets, e.g. ``ref_latents``) through ComfyUI's unet wrapper."""

    def __init__(self, model):
        self.calls, self.batches, self.condition_keys = 0, [], []
        self.model = model.clone()
        self.model.set_model_unet_function_wrapper(self)

    def __call__(self, apply_model, args):
        self.calls += 1
        self.batches.append(args["input"].shape[0])
        self.condition_keys.append(frozenset(key for key, value in args["c"].items() if value is not None))
        return apply_model(args["input"], args["timestep"], **args["c"])

    def calls_with(self, key: str) -> int:
        """How many of the counted passes got ``key`` in their conditioning."""
        return sum(key in keys for keys in self.condition_keys)


def learned_model(kind: str = "eps", path=None):
    """A trained model of ``bench.learned_models`` as a ComfyUI MODEL whose diffusion model is its UNet, with the
    image itself as the 3-channel latent; its conditioning is ``learned_conditioning(label)``.

    * ``eps`` (bench/weights/learned_eps.safetensors): a BaseModel of EPS type on SD1.x's discrete schedule.
    * ``edit`` (learned_edit.safetensors, the instruction-edit model): FLOW type (ComfyUI's CONST algebra, timestep
      1000 sigma, as trained); its labels are the instructions, and its reference image is the conditioning's
      ``reference_latents`` (core ``ReferenceLatent``), handed to the network as ``ref_latents``, as Flux Kontext's
      model gets them. A call without one is refused: the model is nothing without its reference.
    """
    import comfy.conds
    import comfy.latent_formats
    import comfy.model_base
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.supported_models_base

    from bench import learned_models

    null_label = learned_models.NULL_LABELS[kind]

    class PixelLatent(comfy.latent_formats.LatentFormat):
        latent_channels = 3
        scale_factor = 1.0

    class LearnedUNet(torch.nn.Module):
        def __init__(self, device=None, dtype=None, operations=None, **kwargs):
            super().__init__()
            self.unet = learned_models.load(kind, path)
            self.dtype = torch.float32  # BaseModel.get_dtype reads it, as from core's diffusion models

        def forward(self, x, timesteps, context=None, ref_latents=None, **kwargs):
            code = context[:, 0, 0].round().long()  # label + 1; 0 (a zeroed negative) is the empty prompt
            labels = torch.where(code > 0, code - 1, torch.full_like(code, null_label))
            if kind == "edit":
                if not ref_latents:
                    raise ValueError("the learned edit model needs its reference image (core ReferenceLatent)")
                x = torch.cat([x, ref_latents[0].to(x)], dim=1)
            return self.unet(x, timesteps, class_labels=labels).sample

    class LearnedEditModel(comfy.model_base.BaseModel):
        def extra_conds(self, **kwargs):
            out = super().extra_conds(**kwargs)
            references = kwargs.get("reference_latents")
            if references is not None:
                out["ref_latents"] = comfy.conds.CONDList([self.process_latent_in(r) for r in references])
            return out

    class LearnedWorld(comfy.supported_models_base.BASE):
        unet_config, unet_extra_config = {}, {}
        sampling_settings = {"shift": 1.0, "multiplier": 1000} if kind == "edit" else {}
        latent_format = PixelLatent

        def get_model(self, state_dict, prefix="", device=None):
            if kind == "edit":
                return LearnedEditModel(self, model_type=comfy.model_base.ModelType.FLOW, device=device,
                                        unet_model=LearnedUNet)
            return comfy.model_base.BaseModel(self, model_type=comfy.model_base.ModelType.EPS, device=device,
                                              unet_model=LearnedUNet)

    config = LearnedWorld({})
    config.set_inference_dtype(torch.float32, None)
    return comfy.model_patcher.ModelPatcher(config.get_model({}), load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def learned_conditioning(label: int) -> list:
    """A CONDITIONING that selects one label of a learned model (``learned_model``): a scene label of the eps model,
    an instruction of the edit model."""
    return [[torch.full((1, 1, 1), float(label + 1)), {}]]
