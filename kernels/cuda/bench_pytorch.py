#!/usr/bin/env python3
"""PyTorch eager baseline for the worker-step benchmark in gpu_parity_main.cc.

The same step on the same GPU: upload the minibatch from pinned host memory,
forward through Linear+ReLU layers, softmax cross-entropy, read the loss back
to the host (as the worker does), backward to weight and bias gradients. No
optimizer step on either side. float32 with TF32 disabled, to match Petrel's
default. Prints one line per (model, batch) and writes JSON with --json.
"""
import argparse
import json
import time

import torch


def step_time(widths, batch, device, min_seconds=0.4):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(device)
    loss_fn = torch.nn.CrossEntropyLoss()
    x_host = torch.rand(batch, widths[0]).pin_memory()
    y_host = torch.randint(0, widths[-1], (batch,), dtype=torch.int64).pin_memory()

    def step():
        x = x_host.to(device, non_blocking=True)
        y = y_host.to(device, non_blocking=True)
        for p in model.parameters():
            p.grad = None
        loss = loss_fn(model(x), y)
        loss.item()
        loss.backward()

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    iterations = 0
    start = time.perf_counter()
    while iterations < 10 or time.perf_counter() - start < min_seconds:
        step()
        iterations += 1
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / iterations


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="write results here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("SKIP: PyTorch sees no CUDA device")
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda:0")
    results = []
    print("%-22s %6s %14s %10s" % ("model (PyTorch eager)", "batch", "samples/s", "ms/step"))
    for widths in ([784, 256, 10], [784, 4096, 4096, 10]):
        name = "-".join(str(w) for w in widths)
        for batch in (64, 256, 4096):
            t = step_time(widths, batch, device)
            print("%-22s %6d %14.0f %10.3f" % (name, batch, batch / t, t * 1e3))
            results.append({"model": name, "batch": batch, "samples_per_s": batch / t,
                            "ms_per_step": t * 1e3})
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "steps": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
