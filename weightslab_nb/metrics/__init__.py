"""3LC-style per-sample metric collection: :func:`collect_metrics`.

Run your own metric functions ("collectors") over every sample of a data set, with the model's
predictions, and store one value per sample in the sample table (``signals//<name>`` columns),
the per-sample history and, averaged, the global history::

    from weightslab_nb.metrics import collect_metrics

    def per_sample_loss(batch, output):
        return {"loss": torch.nn.functional.cross_entropy(output, batch[1], reduction="none")}

    result = collect_metrics(val_loader, per_sample_loss, split="val")
    result.frame             # one row per sample, one column per metric
    result.aggregates        # {"val_loss_avg": ...}

See :mod:`weightslab_nb.metrics.collect` for how it maps onto 3LC's ``tlc.collect_metrics``.
"""

from weightslab_nb.metrics.collect import (MapDataset, MetricsCollector, MetricsCollectorError,
                                           MetricsResult, collect_metrics, reset_dataloader_cache)

__all__ = ["MapDataset", "MetricsCollector", "MetricsCollectorError", "MetricsResult",
           "collect_metrics", "reset_dataloader_cache"]
