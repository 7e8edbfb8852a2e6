"""Deep-network experiments: the registry behind ``python -m dlnft.experiments``.

Each :class:`Experiment` has a config dataclass with ``smoke()`` (CPU, seconds, fixtures or a
small modulus) and ``full()`` (GPU, the real protocol) constructors, a ``run(config) -> dict``
of JSON-serializable metrics, and a sweep per scale: config fields and the values they take
(every combination is one run, for every seed).

    balance        chapter 1: layer-norm balance of a bias-free ReLU MLP on modular addition
    resnet         R7: ResNet-18 PT on 98 CIFAR-100 classes (the CIFAR-100 protocol of Lippl &
                   Lindsey 2024), FT (held-out pair, PT-class pair, SVHN) for n ∈ {10, …, 1000},
                   conv1 divided by α_conv1 ∈ {0.01, …, 5} at initialization (this book's design)
    resnet_fmnist  the same protocol on real Fashion-MNIST, recorded on a CPU: PT on 8 classes,
                   FT on the held-out pair and a PT pair for n ∈ {10, 100}, α ∈ {0.1, 1, 10}
    resnet_groups  CIFAR-style ResNet-18: early vs late group scales, fresh head at γ
    modular        Transformer PT on + mod 59, FT on +, − and a²+b²: early-layer scale 0.3, 1, 3
    modular_scale  chapter 2: the same Transformer's PT at three overall scales (weights moved,
                   grokking)
    lambda_fmnist  chapter 6: a bias-free ReLU MLP PT on 8 Fashion-MNIST classes; FT of every
                   arm from the same PT weights after a function-preserving rescale W_1/α, αW_2
"""
from __future__ import annotations

import dataclasses
import itertools
import operator
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from . import balance, homogeneous, modular, resnet, transformer_lambda
from .homogeneous import LambdaConfig
from .modular import ModularConfig, modular_dataset, modular_table
from .resnet import FashionResNetConfig, ResNetConfig

SEED_MAX = 2**63 - 1
"""The largest seed (seeds are int64 in torch and NumPy)."""


@dataclass(frozen=True)
class Experiment:
    """A named experiment: its config class, run function, sweep and default seeds per scale."""
    name: str
    config: type
    run: Callable[..., dict]
    description: str
    sweep: dict = field(default_factory=dict)
    seeds: dict = field(default_factory=lambda: {"smoke": (0,), "full": tuple(range(10))})

    def configs(self, scale: str, seeds=None) -> list:
        """Every run of the sweep at ``scale``: the product of the sweep's values × seeds.

        seeds: distinct integers in [0, 2**63 - 1] (default: the experiment's), of any integer
        type (NumPy's too; stored as int); a seed given twice is refused, since it would record
        one run twice.
        """
        if scale not in ("smoke", "full"):
            raise ValueError(f"scale must be 'smoke' or 'full', got {scale!r}")
        base = getattr(self.config, scale)()
        grid = self.sweep.get(scale, {})
        seeds = self.seeds[scale] if seeds is None else tuple(seeds)
        if not seeds:
            raise ValueError("seeds must hold at least one seed")
        for s in seeds:
            if isinstance(s, bool) or not hasattr(s, "__index__"):  # an integer of any kind
                raise TypeError(f"seeds must be integers, got {s!r}")
        seeds = tuple(map(operator.index, seeds))           # int, as JSON and hashing need
        for s in seeds:
            if not 0 <= s <= SEED_MAX:
                raise ValueError(f"seeds must be in [0, 2**63 - 1] (int64), got {s}")
        repeated = sorted(s for s, n in Counter(seeds).items() if n > 1)
        if repeated:
            raise ValueError(f"seeds must be distinct, got {repeated} more than once")
        out = []
        for values in itertools.product(*grid.values()):
            point = dataclasses.replace(base, **dict(zip(grid, values)))
            out += [dataclasses.replace(point, seed=s) for s in seeds]
        return out


ALPHAS = (0.01, 0.1, 0.5, 1.0, 2.0, 5.0)
FASHION_ALPHAS = (0.1, 1.0, 10.0)  # conv1 / α_conv1 on both sides of 1, sized for 2 cores
EARLY_SCALES = (0.1, 0.3, 1.0, 3.0, 10.0)
OVERALL_SCALES = (0.3, 1.0, 3.0)
MODULAR_EARLY_SCALES = (0.3, 1.0, 3.0)
"""The early-layer scales of the modular sweep, the ones measured to grok at the default
overall scale (3 × 6 seeds: recorded at 7 to 16 minutes a run on one core, two runs at a time,
about 85 minutes of wall time on 2 cores)."""
LAMBDA_SEEDS = tuple(range(40))
"""The seeds of the lambda_fmnist sweep, two of each ordered (held-out, subset) pair of class
pairs. Sized by the pilot seed (1000, not recorded): 72–98 s of CPU a seed on one core, so 40
seeds take about an hour of one core; power 0.9 at δ needs 4 seeds, and 40 reach it for slopes
down to about 0.007 per doubling of α (see ``dlnft.experiments.predictions``)."""
BALANCE_SMALL_STEPS = {"p": (31,), "width": (128,),
                       "lrs": ((1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2),), "time": (1000.0,)}
"""The small-step balance sweep (chapter 1, prediction ``1.balance.small``): the drift is
predicted O(η) as η → 0, so the three smallest steps (1/32, 1/16, 1/8) carry the test, and 1/4,
1/2 join the step sizes of the first record. ηT = 1000 as in that record; p = 31 and width 128
(four weight matrices, 480 training pairs) because η = 1/32 needs 32,000 float64 GD steps a run:
about 6 ms a step on one core, 62,000 steps or about 6 minutes a seed. Six seeds: the fewest
at which the exact sign-flip test can find a departure (all six slopes on one side of 1 give a
two-sided p of 2/64 = 0.031; five give at best 0.0625), so the equivalence claim can fail."""
TRANSFORMER_LAMBDA_SEEDS = tuple(range(24))
"""The seeds of ``modular_lambda``, run in this order and judged on those recorded: 24 as the
pilot's size estimate (one PT and nine FT arms a seed, about 3 minutes of one core)."""
FOURIER_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
"""The overall initialization scales of ``modular_fourier``: four doublings around 1 (× 8
seeds: with two comparisons in a family, Holm needs a sign-flip p below 0.025, which 7 seeds
or more can give)."""
PT_ONLY = {"ft_ops": (("+",),), "ft_steps": (1,)}  # only PT matters: FT cut to one step

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("balance", balance.BalanceConfig, balance.run,
               "layer-norm balance of a bias-free ReLU MLP on modular addition (chapter 1)",
               seeds={"smoke": (0,), "full": (0,)}),
    Experiment("balance_small", balance.BalanceConfig, balance.run,
               "layer-norm balance of a bias-free ReLU MLP on modular addition at small GD "
               "steps, 1/32 to 1/2, six seeds (chapter 1)",
               sweep={"smoke": {"lrs": ((1 / 32, 1 / 16, 1 / 8),), "time": (25.0,)},
                      "full": BALANCE_SMALL_STEPS},
               seeds={"smoke": (0,), "full": tuple(range(6))}),
    Experiment("resnet", ResNetConfig, resnet.run,
               "ResNet-18 PT on 98 CIFAR-100 classes, FT on the held-out pair, a PT-class pair "
               "and SVHN (the CIFAR-100 protocol of Lippl & Lindsey 2024); conv1 divided by "
               "alpha_conv1 at initialization (this book's design, not the authors')",
               sweep={"smoke": {"alpha": (0.1, 1.0)}, "full": {"alpha": ALPHAS}},
               seeds={"smoke": (0,), "full": tuple(range(50))}),
    Experiment("resnet_fmnist", FashionResNetConfig, resnet.run,
               "ResNet-18 (one-channel stem) PT on 8 Fashion-MNIST classes, FT on the held-out "
               "pair and a PT-class pair, n = 10 and 100; conv1 divided by alpha_conv1 at "
               "initialization (this book's design; CPU, real data)",
               sweep={"smoke": {"alpha": (0.1, 10.0)}, "full": {"alpha": FASHION_ALPHAS}},
               seeds={"smoke": (0,), "full": tuple(range(8))}),
    Experiment("resnet_groups", ResNetConfig, resnet.run,
               "CIFAR-style ResNet-18: early (stem, stages 1-2) vs late (stages 3-4) "
               "initialization scale, fresh head at gamma = 1",
               sweep={"smoke": {"group_scales": ((("early", 0.3),), (("early", 3.0),)),
                                "arch": ("cifar",), "gamma": (1.0,)},
                      "full": {"group_scales": tuple((("early", s),) for s in EARLY_SCALES),
                               "arch": ("cifar",), "gamma": (1.0,)}}),
    Experiment("modular", ModularConfig, modular.run,
               "Transformer PT on + mod p, FT on + (subset), - and a^2+b^2 (new) from few "
               "pairs; early (embeddings, attention) initialization scale",
               sweep={"smoke": {"early_scale": (0.3, 3.0)},
                      "full": {"early_scale": MODULAR_EARLY_SCALES}},
               seeds={"smoke": (0,), "full": tuple(range(6))}),
    Experiment("modular_scale", ModularConfig, modular.run,
               "the modular-arithmetic Transformer pretrained on + mod p at overall "
               "initialization scales 0.3, 1, 3: how far its weights move and whether it groks "
               "(chapter 2)",
               sweep={"smoke": {"scale": OVERALL_SCALES, **PT_ONLY},
                      # 5000 PT steps: room to grok late; recorded at 9-12.5 min a run on one
                      # core, two at a time: 15 runs in about 77 min on 2 cores
                      "full": {"scale": OVERALL_SCALES, "pt_steps": (5000,), **PT_ONLY}},
               seeds={"smoke": (0,), "full": tuple(range(5))}),
    Experiment("modular_lambda", transformer_lambda.LambdaTransformerConfig,
               transformer_lambda.run_lambda,
               "the modular-arithmetic Transformer PT once per seed on + mod 31; after PT the "
               "MLP is rescaled W_in/alpha, alpha W_out (function-preserving), then FT by "
               "full-batch GD on + (unseen pairs), - and * (chapters 5, 7)",
               seeds={"smoke": (0,), "full": TRANSFORMER_LAMBDA_SEEDS}),
    Experiment("modular_fourier", transformer_lambda.FourierConfig,
               transformer_lambda.run_fourier,
               "the modular-arithmetic Transformer pretrained on + mod 31 at overall "
               "initialization scales 1/4 to 4: Fourier sparsity of its embeddings, "
               "memorization gap and time to generalize (chapter 2)",
               sweep={"smoke": {"scale": (0.25, 4.0)}, "full": {"scale": FOURIER_SCALES}},
               seeds={"smoke": (0,), "full": tuple(range(8))}),
    Experiment("lambda_fmnist", LambdaConfig, homogeneous.run,
               "bias-free ReLU MLP PT on 8 Fashion-MNIST classes; FT on the held-out pair and "
               "a PT pair after W_1/alpha, alpha W_2 (function-preserving), the feature scale "
               "s and the readout (one run per seed holds every arm)",
               seeds={"smoke": (0,), "full": LAMBDA_SEEDS}),
)}
"""The experiments the command line knows, by name."""

__all__ = ["EXPERIMENTS", "Experiment", "FashionResNetConfig", "LambdaConfig", "ModularConfig",
           "ResNetConfig",
           "modular_dataset", "modular_table"]
