"""Self-test of torch_probe.py against the fixtures in test/fixtures/oracle.

    /usr/bin/python3 test/oracle/test_torch_probe.py

Runs the probe in-process (torch is imported once) on every case and input and
checks what it reports against the formulas in DESIGN.md section 2 and against
Python's own ast: every reported position must be the start of a call expression.
Batch mode (--batch) is checked against single runs, through the real command line
for the fixtures and with same-named model files in different folders.
"""

import ast
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import types
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "oracle")
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch_probe  # noqa: E402


def run_probe(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = torch_probe.main(list(argv))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, f"expected one JSON line, got {out.getvalue()!r}"
    return code, json.loads(lines[0])


def run_batch(items, *extra):
    """torch_probe --batch in-process; items is a list (sent as JSON) or raw stdin text."""
    text = items if isinstance(items, str) else json.dumps(items)
    out, err = io.StringIO(), io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = torch_probe.main(["--batch", *extra])
    finally:
        sys.stdin = stdin
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, f"expected one JSON line, got {out.getvalue()!r}"
    return code, json.loads(lines[0])


def single_argv(item):
    argv = ["--model", item["model"], "--build", item["build"]]
    if item.get("modulesOnly"):
        argv.append("--modules-only")
    if item.get("meta"):
        argv.append("--meta")
    if item.get("input") is not None:
        argv += ["--input", ",".join(map(str, item["input"]))]
    return argv


def call_starts(path):
    """1-based (line, column in code points) of every ast.Call in a file."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    lines = source.splitlines()
    starts = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            prefix = lines[node.lineno - 1].encode("utf-8")[: node.col_offset].decode("utf-8")
            starts.add((node.lineno, len(prefix) + 1))
    return starts


def cases():
    for name in sorted(os.listdir(FIXTURES)):
        case_file = os.path.join(FIXTURES, name, "case.json")
        if os.path.isfile(case_file):
            with open(case_file) as f:
                yield name, os.path.join(FIXTURES, name, "model.py"), json.load(f)


class FixtureCases(unittest.TestCase):
    def check_conv(self, conv, starts):
        where = f"{conv['module']} ({conv['op']})"
        self.assertIn((conv["line"], conv["column"]), starts, f"{where}: not a call start")
        cin, cout, g = conv["inChannels"], conv["outChannels"], conv["groups"]
        kvol = math.prod(conv["kernelSize"])
        transposed = conv["op"].startswith("ConvTranspose")
        weight = cin * (cout // g) * kvol if transposed else cout * (cin // g) * kvol
        self.assertEqual(conv["params"], weight + (cout if conv["bias"] else 0), where)
        self.assertEqual(conv["calls"], len(conv["inputShapes"]), where)
        self.assertGreaterEqual(conv["calls"], 1, f"{where}: never ran")
        dims = len(conv["kernelSize"])
        macs = 0
        for shape_in, shape_out in zip(conv["inputShapes"], conv["outputShapes"]):
            self.assertEqual(shape_out[-dims - 1], cout, where)
            if transposed:
                macs += math.prod(shape_in[-dims:]) * cin * (cout // g) * kvol
                continue
            macs += math.prod(shape_out[-dims:]) * cout * (cin // g) * kvol
            for i in range(dims):
                size_in, k = shape_in[-dims + i], conv["kernelSize"][i]
                s, d = conv["stride"][i], conv["dilation"][i]
                p = conv["padding"]
                if p == "same":
                    expected = size_in
                else:
                    pad = 0 if p == "valid" else p[i]
                    expected = (size_in + 2 * pad - d * (k - 1) - 1) // s + 1
                self.assertEqual(shape_out[-dims + i], expected, f"{where} dim {i}")
        self.assertEqual(conv["macs"], macs, where)

    def test_every_case(self):
        seen = 0
        for name, model, case in cases():
            starts = call_starts(model)
            for shape in case["inputs"]:
                with self.subTest(case=name, input=shape):
                    code, result = run_probe(
                        "--model", model, "--build", case["build"],
                        "--input", ",".join(map(str, shape)),
                    )
                    self.assertEqual(code, 0, result)
                    self.assertEqual(result["outputShape"][0], shape[0])
                    self.assertTrue(result["convs"], "no convs found")
                    for conv in result["convs"]:
                        self.check_conv(conv, starts)
                    for seq in result["sequentials"]:
                        self.assertIn((seq["line"], seq["column"]), starts, seq["module"])
                    own = sum(c["params"] for c in result["convs"])
                    self.assertLessEqual(own, result["params"])
                    seen += 1
        self.assertGreaterEqual(seen, 9)

    def test_modules_only_agrees_with_forward(self):
        for name, model, case in cases():
            with self.subTest(case=name):
                code, static = run_probe("--model", model, "--build", case["build"], "--modules-only")
                self.assertEqual(code, 0, static)
                self.assertNotIn("outputShape", static)
                shape = ",".join(map(str, case["inputs"][0]))
                _, full = run_probe("--model", model, "--build", case["build"], "--input", shape)
                dynamic_keys = ("calls", "inputShapes", "outputShapes", "macs")
                stripped = [{k: v for k, v in c.items() if k not in dynamic_keys} for c in full["convs"]]
                self.assertEqual(static["convs"], stripped)
                self.assertEqual(static["params"], full["params"])
                self.assertEqual(static["sequentials"], full["sequentials"])

    def test_meta_agrees_with_cpu(self):
        seen = 0
        for name, model, case in cases():
            for shape in case["inputs"]:
                with self.subTest(case=name, input=shape):
                    argv = ["--model", model, "--build", case["build"], "--input", ",".join(map(str, shape))]
                    code, cpu = run_probe(*argv)
                    self.assertEqual(code, 0, cpu)
                    code, meta = run_probe(*argv, "--meta")
                    self.assertEqual(code, 0, meta)
                    self.assertEqual(meta, cpu)
                    seen += 1
        self.assertGreaterEqual(seen, 9)


class Scratch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_design_test_vector(self):
        # DESIGN.md: 64 -> 128, 3x3, padding 1, 32x32: 73,856 params / 75,497,472 MACs.
        path = self.write("m.py", "from torch import nn\nnet = lambda: nn.Conv2d(64, 128, 3, padding=1)\n")
        code, result = run_probe("--model", path, "--build", "net()", "--input", "1,64,32,32")
        self.assertEqual(code, 0, result)
        (conv,) = result["convs"]
        self.assertEqual((conv["params"], conv["macs"]), (73856, 75497472))
        self.assertEqual((conv["line"], conv["column"], conv["module"]), (2, 15, ""))

    def test_macs_are_per_sample(self):
        path = self.write("m.py", "from torch import nn\nnet = lambda: nn.Conv2d(4, 8, 3)\n")
        _, one = run_probe("--model", path, "--build", "net()", "--input", "1,4,10,10")
        _, three = run_probe("--model", path, "--build", "net()", "--input", "3,4,10,10")
        _, unbatched = run_probe("--model", path, "--build", "net()", "--input", "4,10,10")
        self.assertEqual(one["convs"][0]["macs"], 8 * 8 * 8 * 4 * 9)
        self.assertEqual(three["convs"][0]["macs"], one["convs"][0]["macs"])
        self.assertEqual(unbatched["convs"][0]["macs"], one["convs"][0]["macs"])

    def test_sibling_and_relative_imports(self):
        self.write("blocks.py", "from torch import nn\ndef block(c):\n    return nn.Conv2d(c, c, 3)\n")
        path = self.write(
            "m.py",
            "from torch import nn\nimport blocks\nfrom .blocks import block\n"
            "def net():\n    return nn.Sequential(blocks.block(2), block(2))\n",
        )
        code, result = run_probe("--model", path, "--build", "net()", "--modules-only")
        self.assertEqual(code, 0, result)
        # convs made in another file point at the model-file call that led to them
        self.assertEqual([(c["line"], c["column"]) for c in result["convs"]], [(5, 26), (5, 43)])

    def test_errors_are_json(self):
        bad = self.write("bad.py", "import torch\ndef net(:\n    pass\n")
        code, result = run_probe("--model", bad, "--build", "net()", "--modules-only")
        self.assertEqual(code, 1)
        self.assertIn("SyntaxError", result["error"])
        good = self.write("good.py", "from torch import nn\nprint('noise')\n")
        code, result = run_probe("--model", good, "--build", "Missing()", "--modules-only")
        self.assertEqual(code, 1)
        self.assertIn("NameError", result["error"])
        code, result = run_probe("--model", good, "--build", "nn")
        self.assertEqual(code, 1)
        self.assertIn("--input", result["error"])
        code, result = run_probe("--model", good, "--build", "nn.Conv2d(3, 4, 3)", "--input", "1,5,8,8")
        self.assertEqual(code, 1)
        self.assertIn("RuntimeError", result["error"])


class Batch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir.name, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_cli_batch_matches_single_runs(self):
        # The real command line (fresh interpreter, stdin/stdout, exit status) on every
        # fixture case, forward and --modules-only, with failing items in the middle.
        items = []
        for _name, model, case in cases():
            items += [{"model": model, "build": case["build"], "input": s} for s in case["inputs"]]
            items.append({"model": model, "build": case["build"], "input": None, "modulesOnly": True})
        model = items[0]["model"]
        failing = [
            {"model": os.path.join(self.dir.name, "missing.py"), "build": "Net()", "input": [1, 3, 8, 8]},
            {"model": model, "build": "NoSuchThing()", "modulesOnly": True},
            {"model": model, "build": "torch.nn.Conv2d(3, 4, 3)", "input": [1, 5, 8, 8]},
            {"model": model, "build": "torch.nn.Conv2d(3, 4, 3)", "input": None},
        ]
        middle = len(items) // 2
        items[middle:middle] = failing
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "torch_probe.py"), "--batch"],
            input=json.dumps(items), capture_output=True, text=True, timeout=600,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        lines = proc.stdout.splitlines()
        self.assertEqual(len(lines), 1, proc.stdout[:500])
        results = json.loads(lines[0])
        self.assertEqual(len(results), len(items))
        self.assertGreaterEqual(len(items) - len(failing), 18)
        for index, (item, got) in enumerate(zip(items, results)):
            with self.subTest(index=index, model=item["model"], build=item["build"]):
                code, expected = run_probe(*single_argv(item))
                self.assertEqual(got, expected)
                self.assertEqual(code, 1 if item in failing else 0, got)
        errors = [r["error"] for r in results[middle:middle + len(failing)]]
        self.assertIn("model file not found", errors[0])
        self.assertIn("NameError", errors[1])
        self.assertIn("RuntimeError", errors[2])
        self.assertIn("--input is required", errors[3])

    def same_named_models(self):
        """a/model.py and b/model.py, each importing its own blocks.py both ways."""
        a = self.write(
            "a/model.py",
            "from torch import nn\nimport blocks\nfrom .blocks import block\n"
            "def net():\n    return nn.Sequential(blocks.block(2), block(2))\n",
        )
        self.write("a/blocks.py", "from torch import nn\ndef block(c):\n    return nn.Conv2d(c, c, 3)\n")
        # the "rewritten copy": same file and sibling names, different layout and kernels
        b = self.write(
            "b/model.py",
            "import torch.nn as nn\n\nimport blocks\nfrom .blocks import block\n\n\n"
            "def net():\n    first = blocks.block(2)\n    return nn.Sequential(first, block(2), nn.Conv2d(2, 4, 1))\n",
        )
        self.write("b/blocks.py", "from torch import nn\ndef block(c):\n    return nn.Conv2d(c, c, 5, padding=2)\n")
        # fails after importing its own blocks.py (left half-imported in sys.modules)
        c = self.write("c/model.py", "import blocks\nraise RuntimeError('half-imported')\n")
        self.write("c/blocks.py", "from torch import nn\ndef block(c):\n    return nn.Conv2d(c, c, 7)\n")
        # fails inside the build, while the constructors are wrapped
        d = self.write(
            "d/model.py",
            "import sys\nfrom torch import nn\ndef net():\n    nn.Conv2d(1, 1, 1)\n    sys.exit(3)\n",
        )
        return a, b, c, d

    def test_same_named_files_in_different_dirs(self):
        a, b, c, d = self.same_named_models()
        items = [
            {"model": a, "build": "net()", "input": [1, 2, 9, 9]},
            {"model": c, "build": "net()", "input": None, "modulesOnly": True},
            {"model": b, "build": "net()", "input": [1, 2, 9, 9]},
            {"model": d, "build": "net()", "modulesOnly": True},
            {"model": a, "build": "net()", "input": [1, 2, 9, 9]},
            {"model": b, "build": "net()", "input": None, "modulesOnly": True},
        ]
        # a stale `blocks` cached by whoever ran before (e.g. an in-process single run)
        stale = types.ModuleType("blocks")
        stale.__file__ = self.write("stale/blocks.py", "")
        stale.block = lambda c: torch.nn.Conv2d(c, c, 9)
        sys.modules["blocks"] = stale
        modules_before = set(sys.modules) - {"blocks"}
        path_before = list(sys.path)
        try:
            code, results = run_batch(items)
        finally:
            if sys.modules.get("blocks") is stale:
                del sys.modules["blocks"]
        self.assertEqual(code, 0, results)
        self.assertEqual(len(results), len(items))
        first_a, fail_c, first_b, fail_d, again_a, static_b = results

        self.assertEqual(fail_c, {"error": "RuntimeError: half-imported"})
        self.assertEqual(fail_d, {"error": "SystemExit: 3"})

        self.assertEqual([c["kernelSize"] for c in first_a["convs"]], [[3, 3], [3, 3]])
        self.assertEqual([(c["line"], c["column"]) for c in first_a["convs"]], [(5, 26), (5, 43)])
        self.assertEqual(first_a["outputShape"], [1, 2, 5, 5])
        self.assertEqual(first_a["sequentials"], [{"line": 5, "column": 12, "module": "", "params": 2 * (2 * 2 * 9 + 2)}])

        self.assertEqual([c["kernelSize"] for c in first_b["convs"]], [[5, 5], [5, 5], [1, 1]])
        self.assertEqual(
            [(c["line"], c["column"]) for c in first_b["convs"]], [(8, 13), (9, 33), (9, 43)]
        )
        self.assertEqual(first_b["outputShape"], [1, 4, 9, 9])
        self.assertEqual(first_b["sequentials"], [{"line": 9, "column": 12, "module": "", "params": sum(c["params"] for c in first_b["convs"])}])

        self.assertEqual(again_a, first_a)
        dynamic = ("calls", "inputShapes", "outputShapes", "macs")
        self.assertEqual(
            static_b["convs"], [{k: v for k, v in c.items() if k not in dynamic} for c in first_b["convs"]]
        )
        # the batch leaves nothing behind
        self.assertEqual(sys.path, path_before)
        leftovers = set(sys.modules) - modules_before
        self.assertFalse({m for m in leftovers if "blocks" in m or "model" in m}, leftovers)

    def test_same_named_files_match_single_runs(self):
        # Fresh interpreters give the ground truth for each item on its own.
        # (a fresh interpreter per item costs ~1.5 s, so only the two that succeed)
        a, b, _c, _d = self.same_named_models()
        items = [
            {"model": b, "build": "net()", "input": [2, 2, 11, 11]},
            {"model": a, "build": "net()", "input": [2, 2, 11, 11]},
        ]
        _code, results = run_batch(items)
        script = os.path.join(HERE, "torch_probe.py")
        for item, got in zip(items, results):
            proc = subprocess.run(
                [sys.executable, script, *single_argv(item)], capture_output=True, text=True, timeout=600,
            )
            self.assertEqual(got, json.loads(proc.stdout), item["model"])

    def test_malformed_input(self):
        bad = [
            "",
            "not json",
            '{"model": "m.py", "build": "Net()"}',
            "[1]",
            '[{"build": "Net()", "input": null, "modulesOnly": true}]',
            '[{"model": "m.py", "build": 3}]',
            '[{"model": "m.py", "build": "Net()", "input": "1,3,8,8"}]',
            '[{"model": "m.py", "build": "Net()", "input": [1, 2.5]}]',
            '[{"model": "m.py", "build": "Net()", "input": null, "modulesOnly": "yes"}]',
            '[{"model": "m.py", "build": "Net()", "input": null, "modules_only": true}]',
        ]
        for text in bad:
            with self.subTest(stdin=text):
                code, result = run_batch(text)
                self.assertEqual(code, 2, result)
                self.assertIsInstance(result, dict)
                self.assertIn("error", result)
        code, result = run_batch("[]")
        self.assertEqual((code, result), (0, []))
        # an unusable shape is an item failure, as in a single run, not a malformed batch
        path = self.write("m.py", "from torch import nn\nnet = lambda: nn.Conv2d(1, 1, 1)\n")
        code, result = run_batch([{"model": path, "build": "net()", "input": [1, 0, 4]}])
        self.assertEqual(code, 0)
        self.assertEqual(result, [run_probe("--model", path, "--build", "net()", "--input", "1,0,4")[1]])
        # the real command line, which fails before importing torch
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "torch_probe.py"), "--batch"],
            input="[{}]", capture_output=True, text=True, timeout=600,
        )
        self.assertEqual(proc.returncode, 2)
        self.assertIn("error", json.loads(proc.stdout))


if __name__ == "__main__":
    unittest.main()
