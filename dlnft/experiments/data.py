"""CIFAR-100, SVHN and Fashion-MNIST from ``torchvision.datasets`` (root ``data/``), and tiny
fixtures of CIFAR-100 and SVHN.

Fashion-MNIST is read from ``ROOT/FashionMNIST/raw/`` (uncompressed IDX files, where
torchvision looks); if they are missing, Debian's ``dataset-fashion-mnist`` package
(``/usr/share/datasets/fashion-mnist/*.gz``) is decompressed there first. Nothing is downloaded
unless asked: pass ``download=True``, or set ``DLNFT_DOWNLOAD=1``
(downloading is on by default in Colab). Missing files that may not be downloaded raise one
:class:`MissingDataError` that names the files to place and the command that fetches them.

The fixture writers produce the datasets' real on-disk formats, read back by torchvision's own
loaders: ``cifar-100-python/{train,test,meta}`` (pickled dicts with ``data`` as uint8 rows of
3·32·32 channel-major pixels, ``fine_labels``, ``coarse_labels``; ``meta`` with
``fine_label_names``) and SVHN's ``train_32x32.mat`` / ``test_32x32.mat`` (``X`` of shape
(32, 32, 3, N) uint8, ``y`` of shape (N, 1) with digit 0 stored as label 10). Fixture images are
a class template (a random 4×4 colour pattern, upsampled) plus noise, so that a network can learn
them. Fixtures skip torchvision's MD5 check (their checksums differ from the real files); the real
files are checked by torchvision when it downloads them.
"""
from __future__ import annotations

import gzip
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.io
from torchvision.datasets import CIFAR100, SVHN, FashionMNIST

from .. import _validate as V

DATA_ROOT = Path(__file__).resolve().parents[2] / "data"
"""The repository's ``data/`` folder, the default root of every dataset."""

FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package puts the gzipped IDX files."""


class MissingDataError(FileNotFoundError):
    """A dataset is not on disk and downloading it was not allowed."""


class _CIFAR100Files(CIFAR100):
    """torchvision's CIFAR100 reader without the MD5 check (fixtures have other checksums)."""
    train_list = [["train", None]]
    test_list = [["test", None]]
    meta = {**CIFAR100.meta, "md5": None}


class _SVHNFiles(SVHN):
    """torchvision's SVHN reader without the MD5 check."""
    split_list = {k: [url, name, None] for k, (url, name, _) in SVHN.split_list.items()}


def download_allowed(download: bool | None = None) -> bool:
    """``download`` if given, else ``DLNFT_DOWNLOAD`` (1/true/yes), else whether in Colab."""
    if download is not None:
        return bool(download)
    env = os.environ.get("DLNFT_DOWNLOAD", "").strip().lower()
    if env:
        return env in ("1", "true", "yes")
    return "google.colab" in sys.modules


def _missing(name: str, files: list[Path], fetch: str) -> MissingDataError:
    listing = "\n  ".join(str(f) for f in files)
    return MissingDataError(
        f"{name} is not on disk. Place these files:\n  {listing}\nor let dlnft download them "
        f"(about {fetch}):\n  python -m dlnft.experiments fetch --download\n"
        f"(or set DLNFT_DOWNLOAD=1, or pass --download to any experiment).")


def cifar100_files(root: str | os.PathLike = DATA_ROOT) -> list[Path]:
    """The files torchvision's CIFAR100 reads under ``root``."""
    base = Path(root) / CIFAR100.base_folder
    return [base / "train", base / "test", base / "meta"]


def svhn_files(root: str | os.PathLike = DATA_ROOT) -> list[Path]:
    """The files torchvision's SVHN reads under ``root`` (train and test splits)."""
    return [Path(root) / SVHN.split_list[s][1] for s in ("train", "test")]


def load_cifar100(train: bool = True, root: str | os.PathLike = DATA_ROOT,
                  download: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-100 images and fine labels: x uint8 (N, 32, 32, 3), y int64 (N,) in [0, 100)."""
    files = cifar100_files(root)
    if not all(f.exists() for f in files):
        if not download_allowed(download):
            raise _missing("CIFAR-100", files, "170 MB from cs.toronto.edu")
        CIFAR100(str(root), train=train, download=True)
    ds = _CIFAR100Files(str(root), train=train)
    return ds.data, np.asarray(ds.targets, dtype=np.int64)


def load_svhn(split: str = "train", root: str | os.PathLike = DATA_ROOT,
              download: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """SVHN images and digits: x uint8 (N, 32, 32, 3), y int64 (N,) in [0, 10)."""
    V.choice("split", split, {"train", "test"})
    files = svhn_files(root)
    if not all(f.exists() for f in files):
        if not download_allowed(download):
            raise _missing("SVHN", files, "240 MB from ufldl.stanford.edu")
        for s in ("train", "test"):
            SVHN(str(root), split=s, download=True)
    ds = _SVHNFiles(str(root), split=split)
    return ds.data.transpose(0, 2, 3, 1), ds.labels.astype(np.int64)


def fashion_mnist_files(root: str | os.PathLike = DATA_ROOT) -> list[Path]:
    """The uncompressed IDX files torchvision's FashionMNIST reads under ``root``."""
    raw = Path(root) / FashionMNIST.__name__ / "raw"
    return [raw / Path(url).name.removesuffix(".gz") for url, _ in FashionMNIST.resources]


def _gunzip(source: Path, target: Path) -> None:
    """Decompress ``source`` to ``target`` through a private temporary file and an atomic
    rename, so that a concurrent reader sees either no file or the whole file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_fashion_mnist(train: bool = True, root: str | os.PathLike = DATA_ROOT,
                       download: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images and labels: x uint8 (N, 28, 28, 1), y int64 (N,) in [0, 10).

    N = 60,000 (train) or 10,000 (test). The IDX files are taken from ``ROOT/FashionMNIST/raw/``;
    else decompressed there from Debian's package (:data:`FASHION_MNIST_DEBIAN`); else
    downloaded by torchvision if :func:`download_allowed`; else :class:`MissingDataError`.
    """
    files = fashion_mnist_files(root)
    if not all(f.exists() for f in files):
        debian = [FASHION_MNIST_DEBIAN / f"{f.name}.gz" for f in files]
        if all(d.exists() for d in debian):
            for source, target in zip(debian, files):
                if not target.exists():
                    _gunzip(source, target)
        elif download_allowed(download):
            FashionMNIST(str(root), train=train, download=True)
        else:
            listing = "\n  ".join(str(f) for f in files)
            raise MissingDataError(
                f"Fashion-MNIST is not on disk. Install Debian's package, whose files dlnft "
                f"decompresses into {files[0].parent}:\n  apt-get install "
                f"dataset-fashion-mnist\n(it puts them in {FASHION_MNIST_DEBIAN}), or place "
                f"these files:\n  {listing}\nor let dlnft download them (about 30 MB): add "
                f"--download to the experiment's command, as in\n  python -m dlnft.experiments "
                f"resnet_fmnist --download\n(or set DLNFT_DOWNLOAD=1).")
    ds = FashionMNIST(str(root), train=train)
    return ds.data.numpy()[..., None], ds.targets.numpy().astype(np.int64)


def _images(labels: np.ndarray, n_classes: int, seed: int, split_seed: int) -> np.ndarray:
    """uint8 (N, 32, 32, 3): a random 4×4 colour template per class (fixed by ``seed``, shared by
    the splits), upsampled to 32×32, plus pixel noise drawn from ``split_seed``."""
    templates = np.random.default_rng(seed).uniform(40, 215, size=(n_classes, 4, 4, 3))
    big = templates.repeat(8, axis=1).repeat(8, axis=2)
    noise = np.random.default_rng(split_seed).normal(0, 70, size=(len(labels), 32, 32, 3))
    return np.clip(big[labels] + noise, 0, 255).astype(np.uint8)


def write_cifar100_fixture(root: str | os.PathLike, *, train_per_class: int = 10,
                           test_per_class: int = 3, seed: int = 0) -> Path:
    """Write a tiny CIFAR-100 in the real format under ``root``; returns ``root``.

    train_per_class / test_per_class: images per class (100 classes) in each split.
    """
    train_per_class = V.integer("train_per_class", train_per_class, low=1)
    test_per_class = V.integer("test_per_class", test_per_class, low=1)
    seed = V.integer("seed", seed, low=0)
    base = Path(root) / CIFAR100.base_folder
    base.mkdir(parents=True, exist_ok=True)
    for k, (name, per_class) in enumerate((("train", train_per_class), ("test", test_per_class))):
        y = np.repeat(np.arange(100), per_class)
        np.random.default_rng(seed + 10 * (k + 1)).shuffle(y)
        x = _images(y, 100, seed, seed + k + 1)
        entry = {"filenames": [f"fixture_{i}.png" for i in range(len(y))],
                 "batch_label": f"{name} fixture", "fine_labels": y.tolist(),
                 "coarse_labels": (y // 5).tolist(),
                 "data": x.astype(np.uint8).transpose(0, 3, 1, 2).reshape(len(y), -1)}
        with open(base / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    meta = {"fine_label_names": [f"class_{k:02d}" for k in range(100)],
            "coarse_label_names": [f"superclass_{k:02d}" for k in range(20)]}
    with open(base / "meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return Path(root)


def write_svhn_fixture(root: str | os.PathLike, *, train_per_class: int = 10,
                       test_per_class: int = 5, seed: int = 0) -> Path:
    """Write a tiny SVHN (``train_32x32.mat``, ``test_32x32.mat``) under ``root``; returns it."""
    train_per_class = V.integer("train_per_class", train_per_class, low=1)
    test_per_class = V.integer("test_per_class", test_per_class, low=1)
    seed = V.integer("seed", seed, low=0)
    Path(root).mkdir(parents=True, exist_ok=True)
    for name, per_class, k in (("train", train_per_class, 1), ("test", test_per_class, 2)):
        y = np.repeat(np.arange(10), per_class)
        np.random.default_rng(seed + 10 * k).shuffle(y)
        x = _images(y, 10, seed, seed + k)
        mat_y = np.where(y == 0, 10, y).astype(np.uint8).reshape(-1, 1)
        scipy.io.savemat(Path(root) / SVHN.split_list[name][1],
                         {"X": x.transpose(1, 2, 3, 0), "y": mat_y})
    return Path(root)
