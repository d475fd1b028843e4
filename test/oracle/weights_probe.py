"""Real PyTorch for test/oracle/weights.test.ts (run with /usr/bin/python3, Debian's python3-torch).

Reads a JSON list of jobs on stdin and prints a JSON list of results, one per job, so that one
process (one `import torch`) serves a whole test:

- {"op": "save", "file", "build", "out", "format": "torch"|"safetensors", "dtype", "prefix", "seed", "train"}
  builds the model (`build` evaluated in the module loaded from `file`, or `torchvision.models.X`
  when `file` is null), gives its BatchNorm running statistics random values, and saves its state
  dict (`prefix` put before every key) with torch.save or as .safetensors written by hand; with
  `train` (an input shape without batch) a training checkpoint after one SGD step instead:
  {"epoch", "loss", "state_dict", "optimizer"}.
- {"op": "svd", "file", "build", "ckpt", "svd": [[key, K]]} the energy kept and relative error of each
  [key, K] of a torch.save checkpoint from torch.linalg.svd (test/protocol/weights-hover.test.ts).
- {"op": "evil", "out", "marker"} saves a state dict whose pickle calls os.system to create `marker`.
- {"op": "compare", "orig", "new", "build", "ckpt", "newCkpt", "format", "prefix", "input", "svd": [[key, K]]}
  loads the checkpoint into the original model and the converted checkpoint (torch.load with
  weights_only=True, or safetensors read back by hand with struct + torch.frombuffer) into the
  rewritten model with strict=True, and reports the relative output error, the new keys and
  dtypes, and for each [key, K] of `svd` the energy kept and the relative error of the rank-K
  approximation from torch.linalg.svd (float64, per input channel).
"""
import importlib.util
import json
import os
import struct
import sys

import torch

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
ST_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64"}
ST_DTYPES = {v: k for k, v in ST_NAMES.items()}


def load_module(path, name):
    # torchvision files keep their relative imports: the copy is loaded as a module of torchvision.models
    full = name
    if "torchvision" in open(path).read() or "register_model" in open(path).read():
        from torchvision.models import _api

        # copies register their factories again under the same names: not in the registry
        _api.register_model = lambda name=None: (lambda fn: fn)
        full = f"torchvision.models.{name}"
    spec = importlib.util.spec_from_file_location(full, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[full] = mod
    spec.loader.exec_module(mod)
    return mod


def build(path, expr, name):
    if path is None:
        import torchvision

        return eval(expr, {"torchvision": torchvision})
    mod = load_module(path, name)
    return eval(expr, vars(mod))


def save_safetensors(sd, out):
    header = {}
    offset = 0
    blobs = []
    for k, t in sd.items():
        t = t.contiguous()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[k] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    sd = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dtype = ST_DTYPES[v["dtype"]]
        buf = bytearray(raw[base + a : base + b])
        t = torch.frombuffer(buf, dtype=dtype) if len(buf) else torch.empty(0, dtype=dtype)
        sd[k] = t.reshape(v["shape"])
    return sd


def rank_k(w, k, groups):
    """Energy kept and relative error of the per-input-channel rank-k approximation."""
    w = w.double()
    cout, cin_g = w.shape[0], w.shape[1]
    cout_g = cout // groups
    total = (w * w).sum().item()
    dropped = 0.0
    for g in range(groups):
        for j in range(cin_g):
            m = w[g * cout_g : (g + 1) * cout_g, j].reshape(cout_g, -1)
            s = torch.linalg.svd(m, full_matrices=False).S
            dropped += (s[k:] ** 2).sum().item()
    return {"energy": (total - dropped) / total, "error": (dropped / total) ** 0.5}


def main():
    jobs = json.load(sys.stdin)
    results = []
    for job in jobs:
        op = job["op"]
        if op == "save":
            torch.manual_seed(job.get("seed", 0))
            model = build(job["file"], job["build"], "orig_save")
            for m in model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 1.5)
            model = model.to(DTYPES[job.get("dtype", "float32")])
            sd = model.state_dict()
            prefix = job.get("prefix", "")
            if prefix:
                meta = getattr(sd, "_metadata", None)
                sd = type(sd)((prefix + k, v) for k, v in sd.items())
                if meta is not None:
                    sd._metadata = type(meta)((prefix + k if k else prefix.rstrip("."), v) for k, v in meta.items())
            if job.get("drop"):
                del sd[job["drop"]]
            if job.get("train"):
                # a training checkpoint: the state dict among an epoch, a loss and an optimizer's buffers
                opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
                model(torch.randn(2, *job["train"])).sum().backward()
                opt.step()
                sd = {"epoch": 3, "loss": 0.25, "state_dict": model.state_dict(), "optimizer": opt.state_dict()}
            if job.get("format") == "safetensors":
                save_safetensors(sd, job["out"])
            else:
                torch.save(sd, job["out"])
            results.append({"keys": len(sd)})
        elif op == "evil":

            class Evil:
                def __reduce__(self):
                    return (os.system, (f"touch {job['marker']}",))

            torch.save({"conv.weight": torch.zeros(4, 3, 3, 3), "payload": Evil()}, job["out"])
            results.append({})
        elif op == "compare":
            torch.manual_seed(1)
            orig = build(job["orig"], job["build"], "orig_cmp")
            new = build(job["new"], job["build"], "new_cmp")
            prefix = job.get("prefix", "")
            extras_kept = None
            if job.get("format") == "safetensors":
                old_sd, new_sd = load_safetensors(job["ckpt"]), load_safetensors(job["newCkpt"])
            elif job.get("train"):
                # torch 1.13's weights_only loader has no BINFLOAT (the loss, the learning rate): a full load of our own files
                old, new_ = torch.load(job["ckpt"]), torch.load(job["newCkpt"])
                old_sd, new_sd = old["state_dict"], new_["state_dict"]
                a, b = old["optimizer"], new_["optimizer"]
                extras_kept = (
                    new_["epoch"] == old["epoch"]
                    and new_["loss"] == old["loss"]
                    and a["param_groups"] == b["param_groups"]
                    and all(torch.equal(a["state"][i]["momentum_buffer"], b["state"][i]["momentum_buffer"]) for i in a["state"])
                )
            else:
                old_sd = torch.load(job["ckpt"], weights_only=True)
                new_sd = torch.load(job["newCkpt"], weights_only=True)
            keys = list(new_sd.keys())
            dtypes = sorted({str(v.dtype) for v in new_sd.values()})
            unprefixed = all(k.startswith(prefix) for k in keys)
            strip = lambda sd: {k[len(prefix) :]: v for k, v in sd.items()}
            orig.load_state_dict(strip(old_sd), strict=True)
            new.load_state_dict(strip(new_sd), strict=True)
            orig.eval()
            new.eval()
            torch.manual_seed(2)
            x = torch.randn(*job["input"])
            with torch.no_grad():
                a = orig(x).double()
                b = new(x).double()
            svd = []
            for key, k in job.get("svd", []):
                w = old_sd[key + ".weight"]
                groups = None
                for name, mod in orig.named_modules():
                    if prefix + name == key:
                        groups = mod.groups
                svd.append({"key": key, "k": k, **rank_k(w, k, groups)})
            results.append(
                {
                    "outputError": ((a - b).norm() / a.norm()).item(),
                    "keys": keys,
                    "dtypes": dtypes,
                    "prefixed": unprefixed,
                    "svd": svd,
                    "extrasKept": extras_kept,
                    "params": {"orig": sum(p.numel() for p in orig.parameters()), "new": sum(p.numel() for p in new.parameters())},
                }
            )
        elif op == "svd":
            # the energy and error of [key, K] of a checkpoint from torch.linalg.svd, groups from the model
            model = build(job["file"], job["build"], "svd_model")
            sd = torch.load(job["ckpt"], weights_only=True)
            groups = {name: getattr(mod, "groups", 1) for name, mod in model.named_modules()}
            results.append([{"key": key, "k": k, **rank_k(sd[key + ".weight"], k, groups[key])} for key, k in job["svd"]])
        else:
            raise SystemExit(f"unknown op {op}")
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
