"""Runs models in real PyTorch and says where and why their forward pass fails.

Reads a JSON list of jobs {"model": path, "build": expression, "input": shape} on stdin; writes a list
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
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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
