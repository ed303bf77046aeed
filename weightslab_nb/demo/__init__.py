"""The bundled default workload: scikit-learn's digits (1,797 8x8 images, no download)."""

from weightslab_nb.demo.digits import digits_dataset, digits_mlp, train_digits

__all__ = ["digits_dataset", "digits_mlp", "train_digits"]
