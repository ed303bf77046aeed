"""A script that trains and ends without ``close()`` still leaves its whole history on disk.

The session closes itself from an exit hook; DuckDB registers exit hooks of its own and refuses
queries once they ran, so the session's must run first (it once did not: every exit printed a
"history flush failed" traceback and lost the last half second of history).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb

SCRIPT = textwrap.dedent("""
    import sys, torch
    from torch import nn
    import weightslab_nb as wl
    from weightslab_nb.demo import digits_dataset, digits_mlp, train_digits

    torch.set_num_threads(1)
    wl.set_current_session(wl.Session(root_log_dir=sys.argv[1]))
    model = wl.watch_or_edit(digits_mlp(), flag="model")
    optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2), flag="optimizer")
    loader = wl.watch_or_edit(digits_dataset(), flag="data", loader_name="train_loader",
                              batch_size=64)
    loss = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                            signal_name="train-loss", per_sample=True)
    train_digits(loader, model, optimizer, loss, epochs=2)
""")


def test_history_is_complete_after_an_exit_without_close(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    with duckdb.connect(str(tmp_path / "run" / "history.duckdb"), read_only=True) as con:
        rows = dict(con.execute("SELECT s.name, count(*) FROM sample_history h JOIN signals s "
                                "ON s.id = h.signal GROUP BY s.name").fetchall())
    assert rows == {"train-loss": 2 * 1797, "train-loss/margin": 2 * 1797}
