"""Resident memory of CTC-P TextRNN training steps under glibc malloc settings: batches
of one length, the length drawn from 8-30 each step (as bucketed batches are), a
validation of three batches every 25 steps; peak RSS and time after N steps.

    for env in "" MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304 \\
               MALLOC_MMAP_THRESHOLD_=16777216; do
        env LABEL="${env:-default}" $env python benchmarks/ctcp_malloc.py 150; done
    TRIM=10 python benchmarks/ctcp_malloc.py 150    # malloc_trim(0) every 10 steps
"""

import ctypes
import os
import random
import resource
import sys
import time

import torch
from ctcp_steps import B, C, Net, batch


def rss() -> int:
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    trim = int(os.environ.get("TRIM", "0"))
    libc = ctypes.CDLL("libc.so.6")
    torch.manual_seed(0)
    rng = random.Random(0)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    y = torch.randint(0, C, (B,))
    loss_fn = torch.nn.CrossEntropyLoss()
    start_rss, t0, c0 = rss(), time.time(), time.process_time()
    for i in range(steps):
        x, lengths = batch([rng.randint(8, 30)] * B)
        opt.zero_grad()
        loss_fn(net.rnnbench(x, lengths), y).backward()
        opt.step()
        if trim and i % trim == 0:
            libc.malloc_trim(0)
        if i % 25 == 0:
            with torch.inference_mode():
                for _ in range(3):
                    net.rnnbench(*batch([rng.randint(8, 30)] * 256))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"{os.environ.get('LABEL', 'default'):32s} start {start_rss} MiB, end {rss()} MiB, "
        f"peak {peak} MiB, wall {time.time() - t0:.1f} s, CPU {time.process_time() - c0:.1f} s"
    )


if __name__ == "__main__":
    main()
