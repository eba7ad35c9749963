#!/usr/bin/env python3
"""PyTorch DistributedDataParallel baseline for examples/fashion_mnist_mlp.yaml.

    /usr/bin/python3 tools/ddp_fashion_mnist.py [--epochs 20] [--json PATH]

Trains the Fashion-MNIST MLP that Petrel's example trains, the same way, with
2 processes (torch.multiprocessing, gloo on 127.0.0.1) in place of Petrel's
2 workers and 2 parameter servers, and measures what `petrel local
--summary-json` measures: samples/s, seconds to the first test accuracy
>= 0.87, final test accuracy.

What matches Petrel, and where it is read from:

- Model: 784 -> 256 ReLU -> 10, softmax cross entropy averaged over the batch,
  Glorot (Xavier) uniform weights, zero biases (common/jobspec/model_tables.cc,
  server/initializer.cc). The random draws differ; the distributions don't.
- Data: pixels / 255 as float32 (worker/data/dataset.cc). Rank r of W owns the
  contiguous block [n*r/W, n*(r+1)/W) of the training set (ShardOf), visits it
  in a fresh order each epoch that depends only on (seed, epoch, rank), and
  drops the last partial batch (steps per epoch = shard // batch, as in
  worker/trainer.cc). Batch 64 per process.
- Evaluation: rank 0 scores the whole test set every 200 global steps and
  once after training, inside the timed region, as Petrel's worker 0 does
  (eval_every_steps: 200).
- Threads: one intra-op thread per process (torch.set_num_threads(1)), as each
  Petrel worker runs OpenBLAS with --compute_threads=1; 2 processes, 2 cores.

The learning rate, and why it is 0.02 here. Petrel's servers apply every
worker's push separately, with momentum (v = 0.9 v + g; w -= 0.01 v). Under
BSP both workers' gradients g1, g2 of a step are taken at the same weights, so
one global step is two momentum updates that together move the weights by
about 0.01 * (v + v'), i.e. the two gradients are summed. DDP averages them,
(g1 + g2) / 2, and applies one update. With the same momentum 0.9 the
terminal step under a steady gradient g is 2 * 0.01 * g / (1 - 0.9) = 0.2 g
per global step for Petrel and lr * g / (1 - 0.9) for DDP, so lr = 0.02
(= Petrel's lr x 2 workers) is the match; it is also exactly SGD-momentum
with lr 0.01 on the summed gradient. What cannot match: Petrel decays the
velocity twice per global step (0.81) while DDP decays it once (0.9), so
Petrel's momentum remembers about half as many global steps. --lr overrides.

Timing starts on both ranks after data loading, model construction and
process-group set-up (a barrier), and ends after rank 0's final evaluation.
Petrel's clock starts when the coordinator schedules the job, which includes
its workers loading the data; the data loading time here is reported as
setup_seconds so that the difference can be judged.
"""
import argparse
import gzip
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

DATA_DIR = "/usr/share/datasets/fashion-mnist"
TARGET_ACCURACY = 0.87


def read_idx(path):
    """An IDX file of unsigned bytes (optionally gzipped) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] == 0:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndims = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndims)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: holds {data.size} bytes, its header says {dims}")
    return data.reshape(dims)


def load(data_dir, split, shard, num_shards):
    """Shard `shard` of `num_shards` of a split, as Petrel's LoadIdxDataset
    gives it: features pixel / 255 as float32 rows, labels int64."""
    images = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"))
    n = images.shape[0]
    begin, end = n * shard // num_shards, n * (shard + 1) // num_shards
    x = images[begin:end].reshape(end - begin, -1).astype(np.float32) / np.float32(255.0)
    return torch.from_numpy(x), torch.from_numpy(labels[begin:end].astype(np.int64))


def make_model():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    for layer in (model[0], model[2]):
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    return model


@torch.no_grad()
def accuracy(model, x, y, chunk=1000):
    correct = 0
    for i in range(0, len(y), chunk):
        correct += (model(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum().item()
    return correct / len(y)


def train(rank, world, args, tmp):
    torch.set_num_threads(args.threads)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # gloo on 127.0.0.1 only
    t_setup = time.perf_counter()
    x, y = load(args.data, "train", rank, world)
    if rank == 0:
        test_x, test_y = load(args.data, "t10k", 0, 1)
    # The rendezvous goes through a file, so no port is fixed or raced for.
    dist.init_process_group("gloo", init_method=f"file://{os.path.join(tmp, 'store')}",
                            rank=rank, world_size=world)
    torch.manual_seed(args.seed)  # DDP broadcasts rank 0's weights anyway
    model = DDP(make_model())
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loss_fn = nn.CrossEntropyLoss()
    steps_per_epoch = len(y) // args.batch
    setup_seconds = time.perf_counter() - t_setup
    dist.barrier()

    start = time.perf_counter()
    step = 0
    history = []

    def evaluate():
        # Called on rank 0 only; the eval runs on the local module, whose
        # weights are the same as every rank's after each synchronous step.
        model.eval()
        acc = accuracy(model.module, test_x, test_y)
        model.train()
        history.append({"seconds": time.perf_counter() - start, "step": step,
                        "test_accuracy": acc})
        print(f"ddp: step {step}  epoch {step / steps_per_epoch:.2f}  "
              f"test acc {acc:.4f}  {history[-1]['seconds']:.1f} s",
              file=sys.stderr, flush=True)

    for epoch in range(args.epochs):
        # The order depends only on (seed, epoch, rank), like ShuffledOrder.
        gen = torch.Generator().manual_seed((args.seed * 1_000_003 + epoch) * 131 + rank)
        order = torch.randperm(len(y), generator=gen)
        for i in range(steps_per_epoch):
            idx = order[i * args.batch:(i + 1) * args.batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()  # backward all-reduces (averages)
            opt.step()
            step += 1
            if rank == 0 and step % args.eval_every == 0:
                evaluate()
    if rank == 0:
        if not history or history[-1]["step"] != step:
            evaluate()
        seconds = time.perf_counter() - start
        reached = next((h["seconds"] for h in history
                        if h["test_accuracy"] >= TARGET_ACCURACY), None)
        result = {
            "samples_per_s": world * step * args.batch / seconds,
            "seconds_to_0.87": reached,
            "final_accuracy": history[-1]["test_accuracy"],
            "seconds": seconds,
            "epochs": args.epochs,
            "steps": step,
            "setup_seconds": setup_seconds,
            "processes": world,
            "batch_size": args.batch,
            "lr": args.lr,
            "momentum": args.momentum,
            "torch": torch.__version__,
            "accuracy_history": history,
        }
        with open(os.path.join(tmp, "result.json"), "w") as f:
            json.dump(result, f)
    dist.barrier()
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--json", metavar="PATH", help="write the result here")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--batch", type=int, default=64, help="per process")
    p.add_argument("--threads", type=int, default=1,
                   help="compute threads per process (1: like a Petrel worker)")
    p.add_argument("--lr", type=float, default=0.02,
                   help="0.02 = Petrel's 0.01 x 2 workers; see the docstring")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--eval-every", type=int, default=200, help="global steps")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default=DATA_DIR)
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="ddp-fashion-mnist-") as tmp:
        mp.spawn(train, args=(args.processes, args, tmp), nprocs=args.processes, join=True)
        with open(os.path.join(tmp, "result.json")) as f:
            result = json.load(f)
    print(json.dumps({k: v for k, v in result.items() if k != "accuracy_history"}, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
