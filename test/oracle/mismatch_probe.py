"""Runs models in real PyTorch and says where and why their forward pass fails.

Reads a JSON list of jobs {"model": path, "build": expression, "input": shape, "package": optional
package the file is run as a module of} on stdin; writes a list
of results: {"ok": true, "output": shape} or {"error": PyTorch's message, "lines": the 1-based lines
of the model file on the traceback, outermost first}. The model file is imported under its own name
(its `__main__` block does not run); the model runs in eval mode without gradients.
"""
import importlib.util
import json
import os
import sys
import traceback

import torch


def run(job):
    path = os.path.abspath(job["model"])
    name = "mismatch_" + os.path.splitext(os.path.basename(path))[0]
    # a copy of a package's module runs as one of the package's (its relative imports resolve)
    if job.get("package"):
        importlib.import_module(job["package"])
        name = job["package"] + "." + name
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # torchvision registers its factories by name: the copy's go to a registry of their own
    registry = getattr(sys.modules.get((job.get("package") or "") + "._api"), "BUILTIN_MODELS", None)
    saved = dict(registry) if registry is not None else None
    if registry is not None:
        registry.clear()
    try:
        spec.loader.exec_module(module)
    finally:
        if registry is not None:
            registry.clear()
            registry.update(saved)
    model = eval(job["build"], vars(module))
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.randn(*job["input"]))
    except RuntimeError as e:
        frames = traceback.extract_tb(e.__traceback__)
        return {"error": str(e), "lines": [f.lineno for f in frames if os.path.abspath(f.filename) == path]}
    return {"ok": True, "output": list(out.shape)}


def main():
    torch.manual_seed(0)
    print(json.dumps([run(job) for job in json.load(sys.stdin)]))


if __name__ == "__main__":
    main()
