"""The three α arms of one modular_lambda FT task as one batched computation, against a loop.

    python benchmarks/transformer_ft.py [--steps 100] [--threads 1] [--seed 0] [--pt-steps N]

The network, PT and FT of ``LambdaTransformerConfig.full()`` (p = 31, d_model 64, one block):
PT is run once (its own cost is not timed), then each FT task runs ``--steps`` capped GD steps
from the PT weights at α = 1/4, 1, 4 (W_in/α, α W_out), the same fresh head in every arm:

- loop: one arm after the other, the recorded sweep's code
  (``dlnft.experiments.transformer_lambda._ft_gd`` without its curves);
- batched: the three arms' weights stacked and their gradients taken together with
  ``torch.func.vmap`` over ``torch.func.grad``, each arm keeping its own capped step.

Times are the process's CPU time (one thread by default: the machine this was written on is
shared, and wall time there measures the other processes), the two sides alternating and each
time the median of two. Prints, per task, both times, the ratio loop / batched, and the largest
difference between the two sides' final weights (the same GD, so it must be round-off).
PyTorch has no vmap batching rule for its CPU attention kernel
(``_scaled_dot_product_flash_attention_for_cpu`` and its backward), so there the batched side
falls back to a loop over the arms; the rest of the network is batched.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlnft.experiments import transformer_lambda as T  # noqa: E402
from dlnft.experiments.modular import ModularTransformer, encode_task  # noqa: E402

ALPHAS = (0.25, 1.0, 4.0)


def _pretrained(c):
    torch.manual_seed(c.seed)
    a, b = T._pairs(c.p)
    pt_idx, rest = T._split(c.p, c.pt_fraction, c.seed)
    model = ModularTransformer(c.p, c.d_model, c.n_heads, c.d_mlp, 1)
    x, y = encode_task(a[pt_idx], b[pt_idx], ("+",), c.p)
    xt, yt = encode_task(a[rest], b[rest], ("+",), c.p)
    T._pretrain(model, x, y, xt, yt, steps=c.pt_steps, lr=c.pt_lr,
                weight_decay=c.pt_weight_decay, record_every=c.pt_steps)
    return model, a, b, rest


def _arms(model, head):
    arms = []
    for alpha in ALPHAS:
        ft = T.rescale_mlp(model, alpha)
        with torch.no_grad():
            ft.unembed.weight.copy_(head)
        arms.append(ft)
    return arms


def loop(arms, x, y, steps, lr, max_step):
    """The recorded sweep's FT, one arm after the other."""
    for ft in arms:
        params = list(ft.parameters())
        for _ in range(steps):
            loss = F.cross_entropy(ft(x), y)
            grads = torch.autograd.grad(loss, params)
            norm = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))
            eta = lr if lr * norm <= max_step else max_step / norm
            with torch.no_grad():
                for q, g in zip(params, grads):
                    q.sub_(eta * g)
    return [{n: q.detach() for n, q in ft.named_parameters()} for ft in arms]


def batched(arms, x, y, steps, lr, max_step):
    """The same FT with the arms' weights stacked and one vmapped gradient per step."""
    from torch.func import functional_call, grad, stack_module_state, vmap

    params, buffers = stack_module_state(arms)
    params = {n: q.detach().clone() for n, q in params.items()}
    base = copy.deepcopy(arms[0]).to("meta")

    def loss(p, b):
        return F.cross_entropy(functional_call(base, (p, b), (x,)), y)

    step_grad = vmap(grad(loss))
    # PyTorch has no vmap rule for the CPU attention kernel: it loops over the arms there
    warnings.filterwarnings("ignore", message="There is a performance drop")
    for _ in range(steps):
        g = step_grad(params, buffers)
        norm = torch.sqrt(sum((v.double() ** 2).flatten(1).sum(1) for v in g.values()))
        eta = torch.where(lr * norm <= max_step, torch.full_like(norm, lr), max_step / norm)
        for n in params:
            shape = (-1,) + (1,) * (params[n].ndim - 1)
            params[n] = params[n] - eta.to(params[n].dtype).view(shape) * g[n]
    return [{n: params[n][k] for n in params} for k in range(len(arms))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pt-steps", type=int, default=None,
                    help="PT steps before FT (default: the recorded 2,500)")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.threads < 1:
        ap.error("--steps and --threads must be at least 1")
    torch.set_num_threads(args.threads)
    c = T.LambdaTransformerConfig.full()
    c = type(c)(**{**c.__dict__, "seed": args.seed,
                   "pt_steps": args.pt_steps or c.pt_steps})
    model, a, b, rest = _pretrained(c)
    new_tr, _ = T._split(c.p, c.ft_fraction, c.seed + 1)
    total = {"loop": 0.0, "batched": 0.0}
    print(f"modular_lambda FT, {args.steps} steps, 3 α arms per task, {args.threads} thread(s), "
          f"CPU time")
    for k, op in enumerate(c.ft_ops):
        tr = rest[:c.ft_subset_n] if T.TASKS[op] == "subset" else new_tr
        x, y = encode_task(a[tr], b[tr], (op,), c.p)
        head = torch.randn(c.p, c.d_model, generator=torch.Generator().manual_seed(k)) * 0.1
        times, finals = {"loop": [], "batched": []}, {}
        for _ in range(2):
            for name, fn in (("batched", batched), ("loop", loop)):
                arms = _arms(model, head)
                t0 = time.process_time()
                finals[name] = fn(arms, x, y, args.steps, c.ft_lr, c.ft_max_step)
                times[name].append(time.process_time() - t0)
        med = {name: sum(v) / len(v) for name, v in times.items()}   # median of two
        diff = max(float((finals["loop"][i][n] - finals["batched"][i][n]).abs().max())
                   for i in range(len(ALPHAS)) for n in finals["loop"][i])
        for name in total:
            total[name] += med[name]
        print(f"{op} ({T.TASKS[op]}, {len(y)} pairs): loop {med['loop']:.2f} s, batched "
              f"{med['batched']:.2f} s, loop / batched {med['loop'] / med['batched']:.2f}; "
              f"largest weight difference {diff:.1e}")
    print(f"all tasks: loop / batched {total['loop'] / total['batched']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
