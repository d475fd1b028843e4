"""Builds the model `Net` of each file given in real PyTorch and runs it on zeros of the file's INPUT.

Prints one JSON line per file: {"file", "ok", "shape", "params"} or {"file", "ok": false, "error"}.
Used by test/unit/hostile-cli.test.ts to show that a rewritten model still builds and runs.
"""
import importlib.util
import json
import sys

import torch


def build(path: str) -> dict:
    try:
        spec = importlib.util.spec_from_file_location("hostile_model", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.Net().eval()
        with torch.no_grad():
            out = model(torch.zeros(*module.INPUT))
        params = sum(p.numel() for p in model.parameters())
        return {"file": path, "ok": True, "shape": list(out.shape), "params": params}
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        return {"file": path, "ok": False, "error": f"{type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(json.dumps(build(arg)), flush=True)
