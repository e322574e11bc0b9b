"""The first thing to run on a GPU: does rnnbench work on this device, and how fast is it?

    python benchmarks/device_check.py [--device cuda|cpu] [--out results/benchmarks-gpu.md]
        [--quick] [--budget 480]

Steps, each a subprocess with its own time limit (the whole check stays under 8 minutes on
one GPU):
  1. the device-relevant tests on the device: tests/test_device.py (every built-in model's
     forward and backward, bf16 autocast on CUDA, rnnbench.nn.GRU's dispatch) and
     tests/test_gru_dispatch.py, with RNNBENCH_TEST_DEVICE set;
  2. one `rnnbench run` per model family on a small synthetic task (bf16-mixed on CUDA);
  3. benchmarks/model_throughput.py on the device (--bf16 on CUDA);
  4. a DDP run on every visible GPU (skipped, saying so, with fewer than two).
It writes a Markdown report naming the device (default results/benchmarks-gpu.md) and
exits 1 if any step failed. `--device cpu --quick` runs the same steps small on the CPU
(tests/test_device_check.py does, so that the script cannot rot).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTH = ["model.hidden_size=64"]
#: the built-in model families: (label, model, task, extra --set options)
FAMILIES = [
    ("rnn", "rnn", "adding", WIDTH),
    ("birnn", "birnn", "adding", WIDTH),
    ("lstm (fused)", "lstm", "adding", WIDTH),
    ("lstm peephole (custom cell)", "lstm", "adding", [*WIDTH, "model.variant=peephole"]),
    ("gru", "gru", "adding", WIDTH),
    ("ln-lstm", "ln-lstm", "adding", WIDTH),
    ("ln-gru", "ln-gru", "adding", WIDTH),
    ("bn-lstm", "bn-lstm", "adding", WIDTH),
    ("textrnn", "textrnn", "listops", WIDTH),
    ("rcnn", "rcnn", "listops", WIDTH),
    ("memnet", "memnet", "listops", ["model.embedding_dim=64"]),
    ("treelstm", "treelstm", "listops", WIDTH),
    ("recnn", "recnn", "listops", WIDTH),
    ("seq2seq", "seq2seq", "reverse", WIDTH),
    ("seq2seq-attn", "seq2seq-attn", "reverse", WIDTH),
]


@dataclass
class Step:
    name: str
    status: str = "passed"  # passed | FAILED | skipped
    seconds: float = 0.0
    detail: str = ""
    output: str = field(default="", repr=False)  # stdout then stderr
    stdout: str = field(default="", repr=False)


def run_step(name: str, argv: list[str], timeout: float, env: dict | None = None) -> Step:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            argv,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        stdout, output = done.stdout, done.stdout + done.stderr
        status = "passed" if done.returncode == 0 else "FAILED"
        detail = "" if done.returncode == 0 else f"exit {done.returncode}"
    except subprocess.TimeoutExpired as exc:
        stdout = output = (
            (exc.stdout or b"").decode(errors="replace")
            if isinstance(exc.stdout, bytes)
            else (exc.stdout or "")
        )
        status, detail = "FAILED", f"over its {timeout:.0f} s limit"
    return Step(name, status, time.perf_counter() - start, detail, output, stdout)


def device_facts(device: str) -> dict[str, str]:
    import torch

    facts = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cpu cores": str(os.cpu_count()),
    }
    if device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("device_check: --device cuda but torch sees no CUDA device")
        props = torch.cuda.get_device_properties(0)
        facts.update(
            {
                "device": torch.cuda.get_device_name(0),
                "visible GPUs": str(torch.cuda.device_count()),
                "GPU memory": f"{props.total_memory / 2**30:.0f} GiB",
                "CUDA (torch build)": str(torch.version.cuda),
                "bf16 supported": str(torch.cuda.is_bf16_supported()),
            }
        )
    else:
        facts["device"] = f"CPU ({facts['cpu']}, {torch.get_num_threads()} threads)"
    return facts


def run_args(device: str, quick: bool, results: Path) -> list[str]:
    """The options every `rnnbench run` of the check shares."""
    sizes = (
        ["task.train_size=64", "task.val_size=32", "task.test_size=32", "task.seq_len=12"]
        if quick
        else ["task.train_size=2048", "task.val_size=256", "task.test_size=256", "task.seq_len=50"]
    )
    options = [*sizes, "train.max_epochs=1", "train.progress=false"]
    if device == "cuda":
        options.append("train.precision=bf16-mixed")
    argv = [
        "--accelerator",
        "gpu" if device == "cuda" else "cpu",
        "--no-track",
        "--results-dir",
        str(results),
        "--json",
    ]
    for option in options:
        argv += ["--set", option]
    return argv


def check_run(step: Step) -> Step:
    """A run passes when it exits 0 and its JSON line has a finite test metric."""
    if step.status != "passed":
        return step
    try:
        result = json.loads(step.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        step.status, step.detail = "FAILED", "no JSON result line"
        return step
    metrics = {
        k: v
        for k, v in (result.get("metrics") or {}).items()
        if k.startswith("test_") and isinstance(v, (int, float))
    }
    if result.get("diverged") or not all(math.isfinite(v) for v in metrics.values()):
        step.status, step.detail = "FAILED", f"diverged: {result.get('diverged_reason')}"
    elif not metrics:
        step.status, step.detail = "FAILED", "no test metric in the result"
    else:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items())[:2])
        step.detail = f"device {result.get('device_type')}; {shown}"
    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks-gpu.md")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes everywhere (the CPU check in the test suite)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=480.0,
        help="seconds for the whole check; later steps are cut short",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    facts = device_facts(args.device)
    python = sys.executable
    steps: list[Step] = []

    def left(share: float) -> float:
        return max(10.0, min(share, args.budget - (time.perf_counter() - started)))

    # 1. tests on the device
    steps.append(
        run_step(
            "tests on the device (test_device, test_gru_dispatch)",
            [
                python,
                "-m",
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                "tests/test_device.py",
                "tests/test_gru_dispatch.py",
            ],
            left(150),
            env={"RNNBENCH_TEST_DEVICE": args.device, "HF_HUB_OFFLINE": "1"},
        )
    )
    # 2. one run per model family
    with tempfile.TemporaryDirectory(prefix="rnnbench-device-check-") as tmp:
        shared = run_args(args.device, args.quick, Path(tmp))
        for label, model, task, extra in FAMILIES:
            argv = [python, "-m", "rnnbench", "run", "--model", model, "--task", task, *shared]
            for option in extra:
                argv += ["--set", option]
            steps.append(
                check_run(
                    run_step(
                        f"rnnbench run {label} on {task}",
                        argv,
                        left(60 if args.device == "cuda" else 120),
                    )
                )
            )
        # 4. DDP on every visible GPU
        gpus = int(facts.get("visible GPUs", "0"))
        if args.device == "cuda" and gpus > 1:
            argv = [
                python,
                "-m",
                "rnnbench",
                "run",
                "--model",
                "lstm",
                "--task",
                "adding",
                *shared,
                "--devices",
                str(gpus),
                "--strategy",
                "ddp",
            ]
            ddp = check_run(run_step(f"DDP run on {gpus} GPUs", argv, left(120)))
        else:
            reason = (
                f"{gpus} GPU visible: DDP needs two or more"
                if args.device == "cuda"
                else "CPU check: DDP on CPU processes is tests/test_ddp.py's"
            )
            ddp = Step("DDP run on all visible GPUs", "skipped", 0.0, reason)
    # 3. throughput on the device
    throughput = [python, "benchmarks/model_throughput.py", "--device", args.device]
    throughput += (
        [
            "--hidden",
            "32",
            "--length",
            "16",
            "--batch",
            "8",
            "--repeats",
            "1",
            "--only",
            "gru",
            "ln-lstm",
        ]
        if args.quick
        else ["--hidden", "64", "256", "--repeats", "3"]
    )
    if args.device == "cuda":
        throughput.append("--bf16")
    bench = run_step(
        "model_throughput.py" + (" --bf16" if args.device == "cuda" else ""), throughput, left(180)
    )
    steps += [bench, ddp]
    failed = [s for s in steps if s.status == "FAILED"]
    total = time.perf_counter() - started
    write_report(args, facts, steps, bench, total)
    print(
        f"device check on {facts['device']}: {len(steps) - len(failed)} of {len(steps)} steps "
        f"passed or skipped, {total:.0f} s; report in {args.out}"
    )
    for step in failed:
        print(f"FAILED: {step.name}: {step.detail}\n{step.output[-3000:]}", file=sys.stderr)
    return 1 if failed else 0


def write_report(args, facts: dict, steps: list[Step], bench: Step, total: float) -> None:
    lines = [
        f"# Device check: {facts['device']}",
        "",
        f"`python benchmarks/device_check.py --device {args.device}"
        f"{' --quick' if args.quick else ''}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{total:.0f} s in all.",
        "",
        "| fact | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in facts.items()),
        "",
        "| step | status | seconds | detail |",
        "|---|---|---|---|",
        *(f"| {s.name} | {s.status} | {s.seconds:.1f} | {s.detail} |" for s in steps),
        "",
    ]
    if bench.status == "passed":
        tables = [
            line
            for line in bench.output.splitlines()
            if line.startswith("|") or line.startswith("# ")
        ]
        lines += [
            "## Model throughput on the device",
            "",
            *(line.replace("# ", "", 1) if line.startswith("# ") else line for line in tables),
            "",
        ]
    for step in steps:
        if step.status == "FAILED":
            lines += [f"## {step.name}: output (tail)", "", "```", step.output[-4000:], "```", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(args.out)


if __name__ == "__main__":
    sys.exit(main())
