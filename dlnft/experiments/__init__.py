"""Deep-network experiments (ResNets on CIFAR-100/SVHN, Transformers on modular arithmetic)."""
