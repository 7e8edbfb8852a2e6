"""Fashion-MNIST: the loader (Debian's files, the missing-data error), the one-channel ResNet,
the smoke run on real images (it must learn), and divergence raising in the training loop."""
import dataclasses
import gzip

import numpy as np
import pytest
import torch

from dlnft.experiments import EXPERIMENTS
from dlnft.experiments import data as D
from dlnft.experiments import resnet
from dlnft.experiments.resnet import FashionResNetConfig, ResNetConfig, build_model
from dlnft.experiments.train import fit, prepare, to_device


pytestmark = pytest.mark.usefixtures("one_thread")


def _idx_images(path):
    """The images of a gzipped IDX file, read without torchvision: (N, 28, 28) uint8."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, 28, 28)


def test_fashion_mnist_from_debian_files(tmp_path, monkeypatch):
    monkeypatch.setenv("DLNFT_DOWNLOAD", "0")   # never downloads
    x, y = D.load_fashion_mnist(True, tmp_path, download=False)
    assert x.shape == (60000, 28, 28, 1) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [6000] * 10
    debian = _idx_images(D.FASHION_MNIST_DEBIAN / "train-images-idx3-ubyte.gz")
    assert np.array_equal(x[[0, 777, 59999], ..., 0], debian[[0, 777, 59999]])
    raw = tmp_path / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(f.name for f in
                                                          D.fashion_mnist_files(tmp_path))
    # once decompressed, the raw files are all it needs
    monkeypatch.setattr(D, "FASHION_MNIST_DEBIAN", tmp_path / "no-such-folder")
    xt, yt = D.load_fashion_mnist(False, tmp_path, download=False)
    assert xt.shape == (10000, 28, 28, 1) and np.bincount(yt).tolist() == [1000] * 10


def test_fashion_mnist_missing_error(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "FASHION_MNIST_DEBIAN", tmp_path / "no-such-folder")
    monkeypatch.delenv("DLNFT_DOWNLOAD", raising=False)
    with pytest.raises(D.MissingDataError) as err:
        D.load_fashion_mnist(True, tmp_path / "data", download=False)
    msg = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "python -m dlnft.experiments resnet_fmnist --download" in msg
    assert "DLNFT_DOWNLOAD=1" in msg
    assert str(tmp_path / "data" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte") in msg
    assert not (tmp_path / "data").exists()


def test_fashion_mnist_download_advice_is_true(tmp_path, monkeypatch):
    """The experiment the message names reads Fashion-MNIST, and DLNFT_DOWNLOAD=1 (which its
    --download sets) makes the loader download it (here a stand-in: nothing is fetched)."""
    assert {c.dataset for c in EXPERIMENTS["resnet_fmnist"].configs("smoke", None)} == {
        "fashion_mnist"}
    monkeypatch.setattr(D, "FASHION_MNIST_DEBIAN", tmp_path / "no-such-folder")
    asked = []

    class Download(Exception):
        pass

    class FashionMNIST(D.FashionMNIST):  # the same name: the same folders
        def __init__(self, root, train=True, download=False):
            asked.append(download)
            raise Download
    monkeypatch.setattr(D, "FashionMNIST", FashionMNIST)
    monkeypatch.setenv("DLNFT_DOWNLOAD", "1")
    with pytest.raises(Download):
        D.load_fashion_mnist(True, tmp_path / "data")
    assert asked == [True]


def test_one_channel_resnet_and_config_checks():
    torch.manual_seed(0)
    for width in (64, 16):  # ResNet-18's own width and the recorded one (the default)
        torch.manual_seed(0)
        model = build_model(FashionResNetConfig.full(alpha=1.0, width=width))
        assert tuple(model.conv1.weight.shape) == (width, 1, 7, 7)
        assert model.fc.out_features == 10
        # torchvision's initialization: kaiming normal, fan_out = width·7·7
        std = float(model.conv1.weight.detach().std())
        assert std == pytest.approx((2 / (width * 49)) ** 0.5, rel=0.1)
    torch.manual_seed(0)
    scaled = build_model(FashionResNetConfig.full(alpha=10.0))
    assert torch.allclose(scaled.conv1.weight, model.conv1.weight / 10)
    out = model(prepare(torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)))
    assert out.shape == (3, 10)
    narrow = build_model(FashionResNetConfig.smoke())
    assert tuple(narrow.conv1.weight.shape) == (16, 1, 7, 7) and narrow.fc.out_features == 10
    with pytest.raises(ValueError, match="svhn"):
        FashionResNetConfig(ft_tasks=("heldout", "svhn"))
    with pytest.raises(ValueError, match="fixtures"):
        FashionResNetConfig(fixtures=True)
    with pytest.raises(ValueError, match="dataset"):
        ResNetConfig(dataset="mnist")
    assert ResNetConfig().dataset == "cifar100" and build_model(ResNetConfig()).fc.out_features \
        == 100


def test_grayscale_to_device_and_augment():
    x = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
    xt, yt = to_device(x, np.arange(5), "cpu")
    assert xt.shape == (5, 1, 28, 28) and torch.equal(xt[2, 0], torch.from_numpy(x[2, ..., 0]))
    aug = prepare(xt, augment=True, generator=torch.Generator().manual_seed(0))
    assert aug.shape == (5, 1, 28, 28) and not torch.equal(aug, prepare(xt))
    with pytest.raises(ValueError, match="x must be"):
        to_device(x[..., 0], np.arange(5), "cpu")


def test_registry_fashion_sweep():
    full = EXPERIMENTS["resnet_fmnist"].configs("full")
    assert len(full) == 3 * 8 and {c.alpha for c in full} == {0.1, 1.0, 10.0}
    assert sorted({c.seed for c in full}) == list(range(8))
    c = full[0]
    assert (c.dataset, c.arch, c.width, c.pt_per_class, c.ft_tasks, c.ft_ns) == (
        "fashion_mnist", "torchvision", 16, 500, ("heldout", "subset"), (10, 100))
    assert (c.ft_lr, c.ft_momentum, c.ft_max_batch, c.ft_target_loss, c.ft_max_epochs) == (
        1e-3, 0.9, 128, 0.01, 1000)


def test_fashion_smoke_learns(monkeypatch):
    """The smoke run on real images: PT well above chance (1/8) on the 8 PT classes, and FT
    on the held-out pair (new classes, logits never trained in PT) above chance (1/2)."""
    monkeypatch.setenv("DLNFT_DOWNLOAD", "0")   # never downloads (in Colab it would)
    out = resnet.run(FashionResNetConfig.smoke(), device="cpu")
    assert out["pt"]["test_acc"] > 0.5
    ft = {(f["task"], f["n"]): f for f in out["ft"]}
    assert set(ft) == {("heldout", 10), ("heldout", 40), ("subset", 10), ("subset", 40)}
    assert ft["heldout", 40]["test_acc"] > 0.6 and ft["subset", 40]["test_acc"] > 0.6
    for f in ft.values():
        assert set(f["representation"]) == set(resnet.STAGES)
        assert f["weight_change"]["conv1.weight"] > 0


def test_fit_raises_on_divergence():
    torch.manual_seed(0)
    model = build_model(dataclasses.replace(FashionResNetConfig.smoke(), width=4))
    x = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8)
    y = torch.randint(0, 10, (64,))
    with pytest.raises(FloatingPointError, match=r"lr=1e\+06.*lower lr") as err:
        fit(model, x, y, lr=1e6, momentum=0.9, batch_size=16, max_epochs=5, desc="PT")
    assert "in epoch 1" in str(err.value)
