"""A real ComfyUI server for the HTTP tests: temp base directory, tiny models, the pack, one process.

``shared_server(config)`` starts ``main.py`` of ``COMFYUI_ROOT`` once per test process (both HTTP test
modules share it) with ``sys.executable`` -- the tests run under the ComfyUI checkout's venv -- and
registers the shutdown with pytest's ``config.add_cleanup`` (and ``atexit`` as a fallback). The base
directory is a fresh temp dir holding:

* ``models/checkpoints/sde_edit_tiny_sd2.safetensors`` -- tiny SD2 (EPS) UNet + 4-channel TAESD, no CLIP
* ``models/vae/``: ``sde_edit_tiny_flux_vae.safetensors`` (16-channel TAESD: Flux, SD3 latents),
  ``sde_edit_tiny_sd_vae.safetensors`` (4-channel TAESD: SD1.x, SDXL), ``sde_edit_tiny_wan21_vae.safetensors``
  (Wan 2.1 VAE, Qwen-Image's; full width on 0.3.64, whose loader ignores the file's) and, on releases with
  FLUX.2, ``sde_edit_random_flux2_vae.safetensors`` (FLUX.2's VAE at full width, random weights)
* ``custom_nodes/sde_edit`` -> the pack checkout, ``custom_nodes/sde_edit_test_nodes`` -> tests/comfy_test_nodes
* ``input/sde_edit_test.png`` -- a 64x64 RGB test image; ``input/sde_edit_test.mp4`` -- a 9-frame 64x64 clip

The model files are generated here (seeded) on every run; nothing binary is committed. Set
``SDE_EDIT_KEEP_SERVER_DIR=1`` to keep the base directory (with ``server.log``) after the run.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
PACK_ROOT = TESTS_DIR.parent
PACK_FOLDER = "sde_edit"
TEST_NODES_FOLDER = "sde_edit_test_nodes"
SD2_CKPT = "sde_edit_tiny_sd2.safetensors"
FLUX_VAE = "sde_edit_tiny_flux_vae.safetensors"
SD_VAE = "sde_edit_tiny_sd_vae.safetensors"  # 4-channel TAESD (SD1.x, SDXL latents)
WAN21_VAE = "sde_edit_tiny_wan21_vae.safetensors"  # Qwen-Image's VAE, video-shaped latents
FLUX2_VAE = "sde_edit_random_flux2_vae.safetensors"  # 128 channels at 16x (releases with FLUX.2 only)
TEST_IMAGE = "sde_edit_test.png"
TEST_VIDEO = "sde_edit_test.mp4"
TEST_VIDEO_FRAMES = 9  # 4k + 1 frames, as the Wan and HunyuanVideo VAEs take them
PACK_NODES = ("SDEEdit_CycleSDEInvert", "SDEEdit_CycleSDESampler", "SDEEdit_CycleSDEEdit")
TEST_NODES = ("SDEEditTest_TinyFluxLoader", "SDEEditTest_Conditioning", "SDEEditTest_RandomLatent")


class PromptRejected(RuntimeError):
    """POST /prompt answered 400 (validation failed); ``body`` holds ComfyUI's JSON answer."""

    def __init__(self, body: dict):
        super().__init__(json.dumps(body, indent=1)[:4000])
        self.body = body


@dataclass
class PromptResult:
    """A finished prompt: its /history entry plus the websocket events seen for it (in order)."""

    prompt_id: str
    history: dict
    events: list = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.history.get("status", {}).get("status_str", "")

    @property
    def outputs(self) -> dict:
        return self.history.get("outputs", {})

    @property
    def messages(self) -> list:
        """[(event, data), ...] as kept in /history (execution_start, execution_cached, ..._error)."""
        return [tuple(m) for m in self.history.get("status", {}).get("messages", [])]

    def message(self, event: str) -> dict | None:
        for name, data in self.messages:
            if name == event:
                return data
        return None

    def executed_nodes(self) -> list:
        """Node ids the websocket reported as starting to execute (``executing`` events)."""
        return [data["node"] for name, data in self.events
                if name == "executing" and data.get("node") is not None]


class Graph:
    """Builds an API-format prompt: ``g.node("Class", name=value or other_node or other_node.out(i))``."""

    def __init__(self):
        self.prompt: dict = {}

    def node(self, class_type: str, node_id: str | None = None, **inputs) -> "NodeRef":
        node_id = node_id or str(len(self.prompt) + 1)
        assert node_id not in self.prompt, node_id
        self.prompt[node_id] = {"class_type": class_type,
                                "inputs": {k: v.out(0) if isinstance(v, NodeRef) else v
                                           for k, v in inputs.items()}}
        return NodeRef(node_id)


@dataclass(frozen=True)
class NodeRef:
    id: str

    def out(self, index: int) -> list:
        return [self.id, index]


class ComfyServer:
    def __init__(self, comfy_root: Path, base_dir: Path, port: int, process: subprocess.Popen, log_path: Path):
        self.comfy_root, self.base_dir, self.port = comfy_root, base_dir, port
        self.process, self.log_path = process, log_path
        self.url = f"http://127.0.0.1:{port}"

    # ---- HTTP ----------------------------------------------------------------------------------------
    def request(self, path: str, data: dict | None = None, timeout: float = 60):
        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(self.url + path, data=body,
                                     headers={"Content-Type": "application/json"} if body else {})
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return json.loads(response.read())

    def object_info(self, node_class: str | None = None) -> dict:
        if node_class is None:
            return self.request("/object_info")
        return self.request("/object_info/" + urllib.parse.quote(node_class))[node_class]

    def submit(self, prompt: dict, client_id: str | None = None) -> str:
        """POST /prompt; returns the prompt id or raises PromptRejected (validation errors)."""
        payload = {"prompt": prompt, "client_id": client_id or uuid.uuid4().hex}
        try:
            answer = self.request("/prompt", payload)
        except urllib.error.HTTPError as error:
            if error.code == 400:
                raise PromptRejected(json.loads(error.read())) from None
            raise
        if answer.get("node_errors"):
            raise PromptRejected(answer)
        return answer["prompt_id"]

    def wait(self, prompt_id: str, timeout: float = 180) -> dict:
        """Poll /history/<id> until the prompt is finished; returns its history entry."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            entry = self.request(f"/history/{prompt_id}").get(prompt_id)
            if entry and entry.get("status", {}).get("completed") is not None:
                return entry
            time.sleep(0.05)
        raise TimeoutError(f"prompt {prompt_id} did not finish within {timeout} s\n{self.log_tail()}")

    def free_cache(self) -> None:
        """POST /free: the worker drops its node cache (and unloads models) once it wakes, which the short
        wait leaves it time to do before the next prompt (``queue_uncached`` checks that it did)."""
        request = urllib.request.Request(self.url + "/free", data=json.dumps({"free_memory": True}).encode(),
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=30).close()
        time.sleep(0.5)

    def queue_uncached(self, prompt: dict, attempts: int = 3) -> "PromptResult":
        """Run a prompt with every node executed, none served from ComfyUI's cache: the cache is dropped first,
        and the run repeated if the worker had not yet dropped it (a loaded machine can be slower than the wait)."""
        for _ in range(attempts):
            self.free_cache()
            result = self.queue_prompt(prompt)
            if not (result.message("execution_cached") or {}).get("nodes"):
                return result
        raise AssertionError(f"nodes served from the cache in {attempts} runs: "
                             f"{result.message('execution_cached')['nodes']}")

    def queue_prompt(self, prompt: dict, timeout: float = 180, expect_success: bool = True) -> PromptResult:
        """Run an API prompt: websocket events (if websocket-client is installed) + /history entry.

        With ``expect_success`` a failed prompt raises AssertionError with the execution_error details.
        """
        client_id = uuid.uuid4().hex
        ws = self._connect_ws(client_id)
        try:
            prompt_id = self.submit(prompt, client_id)
            events = self._collect_events(ws, prompt_id, timeout) if ws is not None else []
        finally:
            if ws is not None:
                ws.close()
        result = PromptResult(prompt_id, self.wait(prompt_id, timeout), events)
        if expect_success and result.status != "success":
            error = result.message("execution_error") or {}
            raise AssertionError(f"prompt failed ({result.status}): {error.get('node_type')}: "
                                 f"{error.get('exception_message')}\n{''.join(error.get('traceback', []))}")
        return result

    def _connect_ws(self, client_id: str):
        try:
            import websocket  # websocket-client
        except ImportError:
            return None
        ws = websocket.WebSocket()
        ws.connect(f"ws://127.0.0.1:{self.port}/ws?clientId={client_id}", timeout=30)
        return ws

    def _collect_events(self, ws, prompt_id: str, timeout: float) -> list:
        """Text events of this prompt until its done marker (``executing`` with node None) or an error."""
        import websocket
        events, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            ws.settimeout(max(0.1, min(5.0, deadline - time.monotonic())))
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if not isinstance(frame, str):  # binary previews
                continue
            message = json.loads(frame)
            name, data = message.get("type"), message.get("data") or {}
            if data.get("prompt_id") not in (None, prompt_id):
                continue
            events.append((name, data))
            if name in ("execution_error", "execution_interrupted"):
                break
            if name == "executing" and data.get("node") is None and data.get("prompt_id") == prompt_id:
                break
        return events

    # ---- files & process ------------------------------------------------------------------------------
    def output_file(self, info: dict) -> Path:
        """Path of a file named in a ui dict entry ({"filename", "subfolder", "type"})."""
        folder = {"output": "output", "temp": "temp", "input": "input"}[info.get("type", "output")]
        return self.base_dir / folder / info.get("subfolder", "") / info["filename"]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"ComfyUI exited with code {self.process.returncode}\n{self.log_tail()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 6000) -> str:
        return "---- ComfyUI log (tail) ----\n" + self.log_text()[-chars:]

    def shutdown(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if not os.environ.get("SDE_EDIT_KEEP_SERVER_DIR"):
            shutil.rmtree(self.base_dir, ignore_errors=True)


def missing_browser_tools(chromium: str) -> str | None:
    """Why a browser test cannot run here (None: it can): Node.js >= 20, Chromium at ``chromium`` and
    ``node_modules/playwright-core`` at the repository root."""
    node = shutil.which("node")
    if node is None:
        return "node (Node.js >= 20) is not on PATH"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < 20:
        return f"Node.js >= 20 needed for playwright-core, found {version or 'unknown'}"
    if not Path(chromium).exists():
        return f"no Chromium at {chromium} (apt-get install chromium, or set SDE_EDIT_CHROMIUM)"
    if not (Path(__file__).resolve().parents[1] / "node_modules" / "playwright-core" / "package.json").exists():
        return "node_modules/playwright-core is missing (run `npm install` at the repo root)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_test_image(path: Path, size: int = 64) -> Path:
    """A deterministic image with gradients and a square, so that latents are not trivial, and the left half
    "painted" in the MaskEditor's way (alpha 0), so LoadImage's MASK marks it editable."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    rgb = np.stack([x, y, 0.5 + 0.5 * np.sin(6.0 * x * y)], axis=-1)
    rgb[size // 4: size // 2, size // 4: size // 2] = [0.9, 0.2, 0.1]
    alpha = np.ones((size, size, 1))
    alpha[:, : size // 2] = 0.0
    Image.fromarray((np.concatenate([rgb, alpha], axis=-1) * 255).round().astype(np.uint8), "RGBA").save(path)
    return path


def write_test_video(path: Path, size: int = 64, frames: int = TEST_VIDEO_FRAMES) -> Path:
    """A deterministic clip: moving gradients, 8 fps, H.264 (PyAV, which ComfyUI's video nodes use)."""
    import av
    import numpy as np

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        y, x = np.mgrid[0:size, 0:size] / (size - 1)
        for index in range(frames):
            rgb = np.stack([x, y, 0.5 + 0.5 * np.sin(6.0 * x * y + index / 3)], axis=-1)
            frame = av.VideoFrame.from_ndarray((rgb * 255).round().astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def prepare_base_dir(base: Path, comfy_root: str | os.PathLike, extra_nodes: dict[str, Path] | None = None) -> Path:
    """Fill a ComfyUI base directory: tiny models, the pack and the test nodes (and ``extra_nodes``, custom_nodes
    name -> file or folder to link there), an input image."""
    import comfy_harness

    comfy_harness.import_comfyui(comfy_root)
    comfy_harness.write_tiny_sd_checkpoint(base / "models" / "checkpoints" / SD2_CKPT)
    comfy_harness.write_tiny_flux_vae(base / "models" / "vae" / FLUX_VAE)
    comfy_harness.write_tiny_flux_vae(base / "models" / "vae" / SD_VAE, latent_channels=4)
    comfy_harness.write_tiny_wan21_vae(base / "models" / "vae" / WAN21_VAE)
    import comfy.supported_models
    if hasattr(comfy.supported_models, "Flux2"):
        comfy_harness.write_random_flux2_vae(base / "models" / "vae" / FLUX2_VAE)
    custom_nodes = base / "custom_nodes"  # 0.3.64 crashes if this folder is missing
    custom_nodes.mkdir(parents=True, exist_ok=True)
    (custom_nodes / PACK_FOLDER).symlink_to(PACK_ROOT, target_is_directory=True)
    (custom_nodes / TEST_NODES_FOLDER).symlink_to(TESTS_DIR / "comfy_test_nodes", target_is_directory=True)
    for name, target in (extra_nodes or {}).items():
        (custom_nodes / name).symlink_to(target, target_is_directory=Path(target).is_dir())
    for folder in ("input", "output", "temp", "user"):
        (base / folder).mkdir(exist_ok=True)
    write_test_image(base / "input" / TEST_IMAGE)
    write_test_video(base / "input" / TEST_VIDEO)
    return base


def server_command(comfy_root: Path, base: Path, port: int) -> list[str]:
    command = [sys.executable, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
               "--base-directory", str(base), "--disable-auto-launch", "--preview-method", "none"]
    cli_args = (comfy_root / "comfy" / "cli_args.py").read_text()
    if '"--database-url"' in cli_args:  # no database file in the temp dir (flag exists from 0.3.4x on)
        command += ["--database-url", "sqlite:///:memory:"]
    return command


def start_server(comfy_root: str | os.PathLike, timeout: float = 240,
                 extra_nodes: dict[str, Path] | None = None) -> ComfyServer:
    comfy_root = Path(comfy_root).resolve()
    base = Path(tempfile.mkdtemp(prefix="sde_edit_comfy_"))
    prepare_base_dir(base, comfy_root, extra_nodes)
    port = free_port()
    log_path = base / "server.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(server_command(comfy_root, base, port), cwd=comfy_root, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    server = ComfyServer(comfy_root, base, port, process, log_path)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        tail = server.log_tail()
        server.shutdown()
        raise RuntimeError(f"ComfyUI server did not come up\n{tail}") from None
    return server


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the test process dies (even by SIGKILL), so none is left behind."""
    import ctypes
    import signal
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _wait_ready(server: ComfyServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        server.check_alive()
        try:
            info = server.request("/object_info", timeout=30)
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no /object_info after {timeout} s") from None
            time.sleep(0.25)
    missing = [name for name in PACK_NODES + TEST_NODES if name not in info]
    if missing:
        raise RuntimeError(f"custom nodes missing from /object_info: {missing} (import failed?)")


_SERVER: ComfyServer | None = None
_START_ERROR: str | None = None


def shared_server(config=None) -> ComfyServer:
    """The process-wide server (started on first use); shut down at pytest's cleanup or at exit.

    A failed start is remembered: later callers fail at once with the same message.
    """
    global _SERVER, _START_ERROR
    if _START_ERROR is not None:
        raise RuntimeError(_START_ERROR)
    if _SERVER is None:
        root = os.environ.get("COMFYUI_ROOT")
        if not root:
            raise RuntimeError("COMFYUI_ROOT is not set")
        try:
            _SERVER = start_server(root)
        except Exception as error:
            _START_ERROR = f"the ComfyUI test server failed to start: {error}"
            raise
        if config is not None:
            config.add_cleanup(_shutdown_shared)
        atexit.register(_shutdown_shared)
    return _SERVER


def _shutdown_shared() -> None:
    global _SERVER
    if _SERVER is not None:
        server, _SERVER = _SERVER, None
        server.shutdown()
