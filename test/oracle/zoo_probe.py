"""zoo_probe: what real PyTorch builds for the factories of an installed model zoo.

The oracle of test/oracle/zoo.test.ts. Reads a JSON array of jobs on stdin,

    [{"module": "torchvision.models.resnet", "build": "resnet18()", "input": [1, 3, 224, 224]}, ...]

imports each module as the installed package it is (never copied), evaluates the build
expression in the module's namespace (random initialisation; weights are never loaded), runs
one input of the given shape through the model on PyTorch's `meta` device (shapes only, no
arithmetic, so a 600M-parameter model costs what a small one does) and prints ONE JSON array,
per job: {"params", "macs", "outputShape", "convs"} or {"error"}; "convs" lists every conv
module with its construction site [file, line] (the innermost frame outside torch) and its
configuration, for the conversion figures.

"macs" are conv MACs per sample summed over every conv call, bias adds not counted, as SepConv
counts them: output elements * in/groups * kernel volume for a conv, input elements *
out/groups * kernel volume for a transposed conv. "input": null builds without running.

Run with Debian's interpreter: /usr/bin/python3 test/oracle/zoo_probe.py < jobs.json
"""
import contextlib
import copy
import importlib
import json
import sys
import traceback
import warnings
from typing import Any, Dict, List, Optional

# the fixtures' oracle's MAC count and output description (this script runs from its folder)
from torch_probe import conv_macs, shape_of


@contextlib.contextmanager
def patched(owner: Any, names: List[str], replacement: Any):
    saved = {n: getattr(owner, n) for n in names}
    for n in names:
        setattr(owner, n, replacement)
    try:
        yield
    finally:
        for n, f in saved.items():
            setattr(owner, n, f)


@contextlib.contextmanager
def untrained():
    """
    The model is built exactly as the build expression says (default weights enums included, so a
    detection model keeps the FrozenBatchNorm2d its default backbone weights choose), but nothing is
    downloaded or loaded: hub downloads give an empty state dict and load_state_dict does nothing.
    Weight initialisers do nothing either: the values never matter here.
    """
    import torch
    import torch.hub

    inits = [n for n in dir(torch.nn.init) if n.endswith("_") and not n.startswith("_")]
    with contextlib.ExitStack() as stack:
        stack.enter_context(patched(torch.nn.init, inits, lambda tensor, *a, **k: tensor))
        stack.enter_context(patched(torch.hub, ["load_state_dict_from_url"], lambda *a, **k: {}))
        stack.enter_context(patched(torch.nn.Module, ["load_state_dict"], lambda self, *a, **k: None))
        try:
            import torchvision.models._api as api

            stack.enter_context(patched(api.WeightsEnum, ["get_state_dict"], lambda self, *a, **k: {}))
        except ImportError:
            pass
        yield


def construction_site() -> Optional[List[Any]]:
    """Where the conv being constructed was written: the innermost frame outside torch itself."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "/torch/" not in frame.filename:
            return [frame.filename, frame.lineno]
    return None


def run(job: Dict[str, Any]) -> Dict[str, Any]:
    import torch
    from torch.nn.modules.conv import _ConvNd, _ConvTransposeNd

    module = importlib.import_module(job["module"])
    sites: Dict[int, Any] = {}
    original = _ConvNd.__init__

    def recording_init(self: Any, *a: Any, **k: Any) -> None:
        sites[id(self)] = construction_site()
        original(self, *a, **k)

    _ConvNd.__init__ = recording_init
    try:
        with untrained(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = eval(job["build"], module.__dict__)
    finally:
        _ConvNd.__init__ = original
    if not isinstance(model, torch.nn.Module):
        return {"error": f"{job['build']} gave {type(model).__name__}, not a module"}
    result: Dict[str, Any] = {"params": sum(p.numel() for p in model.parameters())}
    convs = [m for m in model.modules() if isinstance(m, _ConvNd)]
    result["convs"] = [
        {
            "site": sites.get(id(c)),
            "transposed": isinstance(c, _ConvTransposeNd),
            "in": c.in_channels,
            "out": c.out_channels,
            "groups": c.groups,
            "kernel": list(c.kernel_size),
            "bias": c.bias is not None,
        }
        for c in convs
    ]
    if job.get("input") is None:
        return result
    macs = [0]

    def hook(conv: Any, inputs: Any, output: Any) -> None:
        macs[0] += conv_macs(conv, inputs[0], output)

    handles = [c.register_forward_hook(hook) for c in convs]
    model.eval()
    try:
        meta = copy.deepcopy(model).to("meta")
        x = torch.empty(*job["input"], device="meta")
        with torch.no_grad():
            out = meta(x)
    except Exception:  # an op without a meta kernel: run it for real
        macs[0] = 0
        with torch.no_grad():
            out = model(torch.randn(*job["input"]))
    for h in handles:
        h.remove()
    result["macs"] = macs[0]
    result["outputShape"] = shape_of(out)
    return result


def main() -> int:
    jobs: List[Dict[str, Any]] = json.load(sys.stdin)
    out = []
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # what models print stays out of the JSON
    for job in jobs:
        try:
            out.append(run(job))
        except Exception as exc:  # reported per job, the batch goes on
            out.append({"error": f"{type(exc).__name__}: {exc}"})
    sys.stdout = real_stdout
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
