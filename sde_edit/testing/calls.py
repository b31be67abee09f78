"""Counting denoiser calls, for the tests' and benchmarks' cost checks."""
from __future__ import annotations


class CallCounter:
    """Counts the calls of the denoisers it wraps (``counted = counter(denoiser)``; denoisers wrapped by one counter
    share its count) and records each call's batch size and, for guided denoisers ``(x, sigma, cfg)``, its CFG
    scale. One call is one batched model evaluation: a CFG pair in one batch is one call, as ComfyUI runs it."""

    def __init__(self):
        self.calls, self.batches, self.cfgs = 0, [], []

    def __call__(self, denoiser):
        def counted(x, sigma, *cfg):
            self.calls += 1
            self.batches.append(x.shape[0])
            self.cfgs.extend(cfg)
            return denoiser(x, sigma, *cfg)
        return counted
