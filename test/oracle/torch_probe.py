"""torch_probe: ask real PyTorch what a model file builds.

The framework oracle for SepConv's tests. It imports a model file, builds the
model from a Python expression, runs one random input through it and prints ONE
JSON object on stdout with the model's output shape, its parameter count, and,
for every convolution module, where in the model file it was constructed, its
hyper-parameters, its own parameter count and its measured shapes and MACs.

Usage (PyTorch comes from Debian, so use the system interpreter):

    /usr/bin/python3 test/oracle/torch_probe.py --model path/to/model.py \
        --build "ResNetTiny()" --input 1,3,32,32
    /usr/bin/python3 test/oracle/torch_probe.py --model path/to/model.py \
        --build "ResNetTiny(num_classes=10)" --modules-only

Output (forward mode):

    {"outputShape": [1, 10],            # nested list of shapes if the output is a tuple/list/dict
     "params": 12345,                   # sum of p.numel() over model.parameters()
     "convs": [{"line": 12, "column": 22, "module": "layer1.0.conv1", "op": "Conv2d",
                "inChannels": 16, "outChannels": 16, "kernelSize": [3, 3], "stride": [1, 1],
                "padding": [1, 1],       # or "same" / "valid"
                "dilation": [1, 1], "groups": 1, "bias": false,
                "params": 2304,           # this conv's own parameters
                "calls": 1,               # times its forward ran
                "inputShapes": [[1, 16, 8, 8]], "outputShapes": [[1, 16, 8, 8]],
                "macs": 147456}],         # per sample, summed over calls, bias adds not counted
     "sequentials": [{"line": 30, "column": 23, "module": "layer1",
                      "params": 4640}]}  # every parameter under the Sequential

--modules-only skips the forward pass: no --input, no "outputShape", and the conv
entries have no "calls", "inputShapes", "outputShapes" or "macs".

--meta builds the model as usual (so parameters are counted on real tensors), then runs the
forward pass on a copy on PyTorch's meta device: every shape, call and MAC is the same, but
no arithmetic is done, so large inputs (224x224, 256 channels) cost nothing. When the meta
pass fails (an op without a meta kernel, a tensor made on the CPU in forward), the pass runs
on the CPU as without --meta, where a real error shows again.

Positions: line and column (both 1-based; column counts Unicode code points) are
where the constructor call expression starts, e.g. the `n` of `nn.Conv2d(` or the
`(` of `(nn.Conv2d)(...)`. They are taken from the innermost stack frame in the
model file when `_ConvNd.__init__` (all Conv/ConvTranspose/Lazy convs) or
`nn.Sequential.__init__` runs, so a conv made inside a helper function in the
model file points at the call inside the helper, and a subclass that calls
`super().__init__(...)` points at that super call. A module constructed outside
the model file (e.g. in a sibling file, or copied with copy.deepcopy) gets the
position of the model-file call that led to it, or null if there was none.

MACs per forward call, per sample (divided by the batch size N):
    Conv:           output elements per sample * (in_channels / groups) * prod(kernel_size)
    ConvTranspose:  input elements per sample * (out_channels / groups) * prod(kernel_size)
An unbatched input (e.g. C,H,W for Conv2d) counts as N = 1.

Errors (bad arguments, syntax error, import or build failure, failed forward)
print {"error": "..."} on stdout and exit with status 1. Anything the model
itself prints goes to stderr, so stdout holds only the JSON.

Batch mode (pay for `import torch` once for many models):

    echo '[{"model": "a/model.py", "build": "Net()", "input": [1, 3, 32, 32]},
           {"model": "b/model.py", "build": "Net()", "input": null, "modulesOnly": true}]' |
        /usr/bin/python3 test/oracle/torch_probe.py --batch [--threads N]

stdin is a JSON array of items {"model": str, "build": str, "input": [int, ...] | null,
"modulesOnly": bool, "meta": bool} ("input", "modulesOnly" and "meta" are optional, default null / false / false; other
keys are rejected). stdout is ONE JSON array (one line) holding, per item and in order, the
object a single run with the same arguments prints: the result, or {"error": "..."} for a
failing item (the other items still run). Exit status 0 when the batch ran, even if items
failed; 2, with {"error": "..."} on stdout, when stdin is not such an array.

Every item is imported fresh under its own package name (_sepconv_probe_model_b<index>),
and after it the probe forgets what the item brought in: modules it imported from its own
folder (or from anywhere outside the Python installation, e.g. a sibling `blocks.py` or a
rewritten copy of `model.py` elsewhere), sys.path, the working directory, torch's default
dtype, grad mode and thread count. The torch RNG is reset to the fresh-process seed before
each item. So items whose files share a name (case/model.py and /tmp/x/model.py, each with
its own blocks.py) never see each other's modules, and positions always refer to the
current item's file. Error messages that name the model's module show the batch package
name instead of _sepconv_probe_model.

Only torch and the standard library are used.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import json
import linecache
import math
import os
import sys
import traceback
import types
from typing import Any, Dict, List, Optional, Tuple

PACKAGE_NAME = "_sepconv_probe_model"


class ProbeError(Exception):
    pass


def parse_shape(text: str) -> List[int]:
    parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
    try:
        shape = [int(p) for p in parts]
    except ValueError:
        raise ProbeError(f"--input must be comma-separated integers, got {text!r}")
    if not shape or any(d <= 0 for d in shape):
        raise ProbeError(f"--input must be positive integers, got {text!r}")
    return shape


class PositionRecorder:
    """Wraps constructors and remembers, per module object, where the model file made it."""

    def __init__(self, model_path: str) -> None:
        self.model_path = os.path.realpath(model_path)
        self.positions: Dict[int, Tuple[Optional[int], Optional[int]]] = {}
        # Strong references, so that an id() is never reused by a later object.
        self._alive: List[Any] = []
        self._realpaths: Dict[str, str] = {}
        self._restore: List[Tuple[type, Any]] = []

    def _is_model_file(self, filename: str) -> bool:
        real = self._realpaths.get(filename)
        if real is None:
            real = os.path.realpath(filename) if not filename.startswith("<") else filename
            self._realpaths[filename] = real
        return real == self.model_path

    def _position(self) -> Tuple[Optional[int], Optional[int]]:
        frame = sys._getframe(2)
        while frame is not None and not self._is_model_file(frame.f_code.co_filename):
            frame = frame.f_back
        if frame is None:
            return (None, None)
        line: Optional[int] = frame.f_lineno
        col: Optional[int] = None
        if frame.f_lasti >= 0 and hasattr(frame.f_code, "co_positions"):  # Python 3.11+
            positions = list(frame.f_code.co_positions())
            index = frame.f_lasti // 2
            if 0 <= index < len(positions):
                start_line, _end_line, start_col, _end_col = positions[index]
                if start_line is not None:
                    line = start_line
                if start_col is not None and line is not None:
                    col = self._char_column(frame.f_code.co_filename, line, start_col)
        return (line, col)

    @staticmethod
    def _char_column(filename: str, line: int, byte_col: int) -> int:
        source_line = linecache.getline(filename, line)
        if not source_line:
            return byte_col + 1
        prefix = source_line.encode("utf-8")[:byte_col]
        return len(prefix.decode("utf-8", errors="replace")) + 1

    def wrap(self, cls: type) -> None:
        original = cls.__dict__["__init__"]
        recorder = self

        def __init__(module, *args, **kwargs):  # noqa: N807 - mirrors the wrapped name
            key = id(module)
            if key not in recorder.positions:
                # The first call wins, should a class run the wrapped __init__ twice.
                recorder.positions[key] = recorder._position()
                recorder._alive.append(module)
            original(module, *args, **kwargs)

        __init__.__wrapped__ = original  # type: ignore[attr-defined]
        cls.__init__ = __init__  # type: ignore[misc]
        self._restore.append((cls, original))

    def unwrap(self) -> None:
        for cls, original in reversed(self._restore):
            cls.__init__ = original  # type: ignore[misc]
        self._restore.clear()


def import_model(model_path: str, package_name: str = PACKAGE_NAME) -> types.ModuleType:
    sys.dont_write_bytecode = True  # leave no __pycache__ next to the fixtures
    path = os.path.abspath(model_path)
    if not os.path.isfile(path):
        raise ProbeError(f"model file not found: {model_path}")
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    # A synthetic package whose __path__ is the model's folder, so that both
    # `from blocks import X` (folder on sys.path) and `from .blocks import X` work.
    package = types.ModuleType(package_name)
    package.__path__ = [directory]  # type: ignore[attr-defined]
    sys.modules[package_name] = package
    stem = os.path.splitext(os.path.basename(path))[0]
    name = f"{package_name}.{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ProbeError(f"cannot import {model_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def as_list(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)):
        return [int(v) for v in value]
    return [int(value)]


def conv_macs(conv: Any, x: Any, output: Any) -> int:
    """MACs of one conv call per sample (see the module doc); an unbatched input counts as N = 1."""
    from torch.nn.modules.conv import _ConvTransposeNd

    batch = x.shape[0] if x.dim() == len(conv.kernel_size) + 2 else 1
    kvol = math.prod(conv.kernel_size)
    if isinstance(conv, _ConvTransposeNd):
        return (x.numel() // batch) * (conv.out_channels // conv.groups) * kvol
    return (output.numel() // batch) * (conv.in_channels // conv.groups) * kvol


def shape_of(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (tuple, list)):
        return [shape_of(v) for v in value]
    if isinstance(value, dict):
        return {str(k): shape_of(v) for k, v in value.items()}
    return None


def own_params(module: Any) -> Optional[int]:
    from torch.nn.parameter import is_lazy

    params = list(module.parameters(recurse=False))
    if any(is_lazy(p) for p in params):
        return None
    return sum(p.numel() for p in params)


def total_params(model: Any) -> Optional[int]:
    from torch.nn.parameter import is_lazy

    params = list(model.parameters())
    if any(is_lazy(p) for p in params):
        return None
    return sum(p.numel() for p in params)


def probe(args: argparse.Namespace, package_name: str = PACKAGE_NAME) -> Dict[str, Any]:
    import torch
    from torch.nn.modules.conv import _ConvNd

    input_shape = None if args.modules_only else parse_shape(args.input)

    recorder = PositionRecorder(args.model)
    recorder.wrap(_ConvNd)
    recorder.wrap(torch.nn.Sequential)
    try:
        module = import_model(args.model, package_name)
        try:
            build_code = compile(args.build, "<build>", "eval")
        except SyntaxError as exc:
            raise ProbeError(f"--build is not a Python expression: {exc}")
        model = eval(build_code, module.__dict__)
    finally:
        recorder.unwrap()

    if not isinstance(model, torch.nn.Module):
        raise ProbeError(f"--build gave {type(model).__name__}, not a torch.nn.Module")
    model.eval()

    named = list(model.named_modules())
    convs = [(name, m) for name, m in named if isinstance(m, _ConvNd)]

    def forward(net: Any, device: str) -> Tuple[Dict[str, Dict[str, Any]], Any]:
        """Runs `net` once with hooks on its convs; the records by module name, and the output."""
        records: Dict[str, Dict[str, Any]] = {}
        handles = []

        def hook_for(record: Dict[str, Any]) -> Any:
            def hook(conv: Any, inputs: Tuple[Any, ...], output: Any) -> None:
                x = inputs[0]
                macs = conv_macs(conv, x, output)
                record["calls"] += 1
                record["inputShapes"].append(list(x.shape))
                record["outputShapes"].append(list(output.shape))
                record["macs"] += macs

            return hook

        for name, conv in net.named_modules():
            if isinstance(conv, _ConvNd):
                records[name] = {"calls": 0, "inputShapes": [], "outputShapes": [], "macs": 0}
                handles.append(conv.register_forward_hook(hook_for(records[name])))
        torch.manual_seed(0)
        try:
            with torch.no_grad():
                output = net(torch.randn(*input_shape, device=device))
        finally:
            for handle in handles:
                handle.remove()
        return records, output

    result: Dict[str, Any] = {}
    records: Dict[str, Dict[str, Any]] = {}
    if input_shape is not None:
        ran = False
        if getattr(args, "meta", False):
            # shapes without arithmetic: the same hooks, shapes and MACs at any input size in no time;
            # an op without a meta kernel (max_pool3d in torch 1.13) or a tensor the forward makes on
            # the CPU runs the model on the CPU instead (where a real error shows again)
            try:
                records, output = forward(copy.deepcopy(model).to("meta"), "meta")
                ran = True
            except (NotImplementedError, RuntimeError):
                pass
        if not ran:
            records, output = forward(model, "cpu")
        result["outputShape"] = shape_of(output)

    result["params"] = total_params(model)

    conv_entries = []
    for name, conv in convs:
        line, column = recorder.positions.get(id(conv), (None, None))
        entry: Dict[str, Any] = {
            "line": line,
            "column": column,
            "module": name,
            "op": type(conv).__name__,
            "inChannels": conv.in_channels,
            "outChannels": conv.out_channels,
            "kernelSize": as_list(conv.kernel_size),
            "stride": as_list(conv.stride),
            "padding": as_list(conv.padding),
            "dilation": as_list(conv.dilation),
            "groups": conv.groups,
            "bias": conv.bias is not None,
            "params": own_params(conv),
        }
        if input_shape is not None:
            entry.update(records[name])
        conv_entries.append(entry)
    result["convs"] = conv_entries

    seq_entries = []
    for name, m in named:
        if isinstance(m, torch.nn.Sequential):
            line, column = recorder.positions.get(id(m), (None, None))
            seq_entries.append({"line": line, "column": column, "module": name, "params": total_params(m)})
    result["sequentials"] = seq_entries
    return result


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ProbeError):
        return str(exc)
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} ({exc.filename}, line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------
# Batch mode

BATCH_KEYS = {"model", "build", "input", "modulesOnly", "meta"}


def parse_batch(text: str) -> List[argparse.Namespace]:
    """stdin of --batch -> one argparse-like namespace per item; ProbeError if malformed."""
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise ProbeError(f"--batch: stdin is not JSON: {exc}")
    if not isinstance(items, list):
        raise ProbeError(f"--batch: stdin must be a JSON array, got {type(items).__name__}")
    batch = []
    for index, item in enumerate(items):
        where = f"--batch: item {index}"
        if not isinstance(item, dict):
            raise ProbeError(f"{where} must be an object, got {type(item).__name__}")
        unknown = sorted(set(item) - BATCH_KEYS)
        if unknown:
            raise ProbeError(f"{where}: unknown keys {unknown} (allowed: {sorted(BATCH_KEYS)})")
        for key in ("model", "build"):
            if not isinstance(item.get(key), str):
                raise ProbeError(f"{where}: {key!r} must be a string")
        shape = item.get("input")
        if shape is not None and not (
            isinstance(shape, list)
            and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
        ):
            raise ProbeError(f"{where}: 'input' must be null or an array of integers")
        modules_only = item.get("modulesOnly", False)
        if not isinstance(modules_only, bool):
            raise ProbeError(f"{where}: 'modulesOnly' must be true or false")
        meta = item.get("meta", False)
        if not isinstance(meta, bool):
            raise ProbeError(f"{where}: 'meta' must be true or false")
        batch.append(
            argparse.Namespace(
                model=item["model"],
                build=item["build"],
                # the string a single run would get, so parse_shape reports the same errors
                input=None if shape is None else ",".join(str(d) for d in shape),
                modules_only=modules_only,
                meta=meta,
            )
        )
    return batch


def _install_roots() -> List[str]:
    """Folders of the Python installation (stdlib, dist-packages, PYTHONPATH): modules
    imported from there during an item (e.g. torch's lazy submodules) are kept."""
    here = os.path.dirname(os.path.realpath(__file__))
    roots = []
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            real = os.path.realpath(entry)
            if real != here and real != os.sep:
                roots.append(real)
    return roots


def _module_locations(module: Any) -> List[str]:
    places = []
    spec = getattr(module, "__spec__", None)
    for place in [getattr(module, "__file__", None), getattr(spec, "origin", None)]:
        if isinstance(place, str) and os.path.isabs(place):
            places.append(place)
    try:
        places.extend(p for p in list(getattr(module, "__path__", None) or []) if isinstance(p, str))
    except Exception:  # noqa: BLE001 - an odd __path__ is just no location
        pass
    return [os.path.realpath(p) for p in places]


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class ItemSandbox:
    """Isolates one batch item: before it, drops cached modules that a sibling of the model
    file would otherwise be shadowed by; after it, undoes what the item changed."""

    def __init__(self, model_path: str, package_name: str, install_roots: List[str]) -> None:
        self.directory = os.path.realpath(os.path.dirname(os.path.abspath(model_path)))
        self.package_name = package_name
        self.install_roots = install_roots

    def __enter__(self) -> "ItemSandbox":
        import torch

        self._evict_shadowing_modules()
        self.modules = set(sys.modules)
        self.path = list(sys.path)
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        self.cwd = os.getcwd()
        self.dtype = torch.get_default_dtype()
        self.grad = torch.is_grad_enabled()
        self.threads = torch.get_num_threads()
        importlib.invalidate_caches()  # files may have been written since the last item
        linecache.checkcache()
        return self

    def _foreign(self, name: str, module: Any) -> bool:
        """True for a module that belongs to this item or to no installed package."""
        if name == self.package_name or name.startswith(self.package_name + "."):
            return True
        places = _module_locations(module)
        if any(_under(p, self.directory) for p in places):
            return True  # from the model's folder: a sibling, or the model itself re-imported
        return bool(places) and not any(_under(p, r) for p in places for r in self.install_roots)

    def _evict_shadowing_modules(self) -> None:
        # Only matters when the probe runs inside a process that imported user modules
        # before the batch (e.g. the self-test); the batch itself leaves none behind.
        try:
            entries = os.listdir(self.directory)
        except OSError:
            return
        siblings = set()
        for entry in entries:
            stem, dot, _ext = entry.partition(".")
            if stem.isidentifier() and (dot or os.path.isdir(os.path.join(self.directory, entry))):
                siblings.add(stem)
        keep = {"__main__", __name__}
        for name, module in list(sys.modules.items()):
            if name.partition(".")[0] in siblings and name not in keep and module is not None:
                if self._foreign(name, module):
                    del sys.modules[name]

    def __exit__(self, *exc_info: Any) -> None:
        import torch

        for name in [n for n in list(sys.modules) if n not in self.modules]:
            module = sys.modules.get(name)
            if module is not None and not self._foreign(name, module):
                continue
            sys.modules.pop(name, None)
            parent, _, child = name.rpartition(".")
            if parent in sys.modules and getattr(sys.modules[parent], child, None) is module:
                with contextlib.suppress(Exception):
                    delattr(sys.modules[parent], child)
        sys.path[:] = self.path
        sys.meta_path[:] = self.meta_path
        sys.path_hooks[:] = self.path_hooks
        with contextlib.suppress(OSError):
            os.chdir(self.cwd)
        torch.set_default_dtype(self.dtype)
        torch.set_grad_enabled(self.grad)
        torch.set_num_threads(self.threads)
        importlib.invalidate_caches()


def run_batch(threads: int) -> int:
    real_stdout = sys.stdout
    try:
        items = parse_batch(sys.stdin.read())
    except ProbeError as exc:
        real_stdout.write(json.dumps({"error": str(exc)}) + "\n")
        real_stdout.flush()
        return 2

    results: List[Dict[str, Any]] = []
    if items:
        import torch

        torch.set_num_threads(max(1, threads))
        fresh_seed = torch.initial_seed()  # what a fresh process builds its weights with
        roots = _install_roots()
        for index, args in enumerate(items):
            package_name = f"{PACKAGE_NAME}_b{index}"
            sys.stderr.write(f"torch_probe --batch: item {index}: {args.model} :: {args.build}\n")
            try:
                with contextlib.redirect_stdout(sys.stderr), ItemSandbox(args.model, package_name, roots):
                    torch.manual_seed(fresh_seed)
                    if not args.modules_only and not args.input:
                        raise ProbeError("--input is required unless --modules-only is given")
                    result = probe(args, package_name)
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a JSON error
                if isinstance(exc, KeyboardInterrupt):
                    raise
                traceback.print_exc(file=sys.stderr)
                result = {"error": error_message(exc)}
            results.append(result)
    real_stdout.write(json.dumps(results) + "\n")
    real_stdout.flush()
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--batch" in argv:
        batch_parser = argparse.ArgumentParser(
            description="Probe many models: JSON array of items on stdin, JSON array of results on stdout."
        )
        batch_parser.add_argument("--batch", action="store_true", required=True)
        batch_parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
        try:
            batch_args = batch_parser.parse_args(argv)
        except SystemExit as exc:
            if exc.code in (0, None):
                raise
            sys.stdout.write(json.dumps({"error": "--batch takes only --threads N (items come on stdin)"}) + "\n")
            sys.stdout.flush()
            return 2
        return run_batch(batch_args.threads)
    return main_single(argv)


def main_single(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Build a PyTorch model from a file and report its convolutions as JSON."
    )
    parser.add_argument("--model", required=True, help="path to the model's .py file")
    parser.add_argument("--build", required=True, help='expression that builds the model, e.g. "Net()"')
    parser.add_argument("--input", help="input shape for one forward pass, e.g. 1,3,32,32")
    parser.add_argument("--modules-only", action="store_true", help="skip the forward pass")
    parser.add_argument("--meta", action="store_true", help="run the forward pass on the meta device (shapes only, no arithmetic)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)

    real_stdout = sys.stdout
    try:
        if not args.modules_only and not args.input:
            raise ProbeError("--input is required unless --modules-only is given")
        import torch

        torch.set_num_threads(max(1, args.threads))
        with contextlib.redirect_stdout(sys.stderr):
            result = probe(args)
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a JSON error
        if isinstance(exc, KeyboardInterrupt):
            raise
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            raise
        traceback.print_exc(file=sys.stderr)
        real_stdout.write(json.dumps({"error": error_message(exc)}) + "\n")
        real_stdout.flush()
        return 1
    real_stdout.write(json.dumps(result) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
