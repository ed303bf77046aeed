"""A row-ordered copy of the per-sample history, so one sample's history is read without a scan.

``sample_history`` is written in recording order: every batch holds rows from all over the
sample table, so every DuckDB row group holds every sample and a ``WHERE row = ?`` reads the
whole table (13 ms at 10M rows). The table stays as it is (the complete log; what other readers
of the file see). Beside it, ``sample_by_row`` holds the same rows again, copied in runs of at
least :data:`RUN_ROWS` rows, each run sorted by ``(row, signal, step)``: the zone maps of a
sorted run confine one sample to one or two of its row groups. ``sample_by_row`` covers the log's
first ``covered`` rows (rowids ``0 .. covered-1``: the log is append-only, so rowids are dense
and stable); a point query reads the copy plus the log's uncovered tail (``rowid >= covered``,
which DuckDB also prunes by row group), so the tail never exceeds a run.

The copy is a second write of every row (about doubling the writer's DuckDB time, ~0.2-0.3 s
per million rows here), so it starts on demand: the first one-sample query of a session (or a
file that already has a copy) turns it on, and from then on the writer thread copies one run of
:data:`RUN_ROWS` rows (one ``INSERT ... SELECT ... ORDER BY``) after each flush while the tail
holds that many, catching up on a long history one run per flush. A run that never looks at a
single sample's history (a training script, the ingest benchmark) writes no copy.

Not thread-safe by itself: :class:`~weightslab_nb.history.HistoryStore` calls it under its
flush lock.
"""

from __future__ import annotations

#: Rows of the log a copy run takes at least (the most a point query reads unsorted).
RUN_ROWS = 2_000_000

COPY_SCHEMA = ("CREATE TABLE IF NOT EXISTS sample_by_row (signal INTEGER, row BIGINT, "
               "step BIGINT, value DOUBLE, exp INTEGER);")

_COLUMNS = "signal, row, step, value, exp"


class RowOrderedCopy:
    """Keeps ``sample_by_row`` (see the module doc) and answers one-sample queries from it.

    Parameters
    ----------
    run_rows : int, default :data:`RUN_ROWS`
        Uncovered log rows from which :meth:`extend` copies a run.
    """

    def __init__(self, run_rows: int = RUN_ROWS):
        self.run_rows = run_rows
        self.covered = 0  # log rows the copy holds
        self.logged = 0   # rows of sample_history
        self.wanted = False  # a one-sample query was asked (or the file has a copy)

    def open(self, con) -> None:
        """Read the sizes of an opened file (the schema exists)."""
        self.logged = con.execute("SELECT count(*) FROM sample_history").fetchone()[0]
        self.covered = con.execute("SELECT count(*) FROM sample_by_row").fetchone()[0]
        self.wanted = self.covered > 0

    def appended(self, n: int) -> None:
        """``n`` rows were committed to ``sample_history``."""
        self.logged += n

    def extend(self, con) -> bool:
        """Copy the next ``run_rows`` uncovered log rows as one sorted run, if the copy is
        wanted and the tail holds that many; True if it did. On failure nothing is copied and
        the exception propagates."""
        if not self.wanted or self.logged - self.covered < self.run_rows:
            return False
        end = self.covered + self.run_rows
        con.execute("BEGIN")
        try:
            con.execute(f"INSERT INTO sample_by_row SELECT {_COLUMNS} FROM sample_history "
                        "WHERE rowid >= ? AND rowid < ? ORDER BY row, signal, step",
                        [self.covered, end])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.covered = end
        return True

    def query_row(self, con, row: int, where: list[str], params: list):
        """Every history row of sample-table row ``row`` matching the extra conditions
        ``where`` (SQL on the columns, ``?`` placeholders bound to ``params``), as DuckDB's
        ``fetchnumpy`` dict of ``signal, row, step, value, exp``, in no particular order."""
        self.wanted = True
        cond = " AND ".join(["row = ?", *where])
        args = [int(row), *params]
        if not self.covered:  # no copy yet (a short history): the log alone
            return con.execute(f"SELECT {_COLUMNS} FROM sample_history WHERE {cond}",
                               args).fetchnumpy()
        sql = (f"SELECT {_COLUMNS} FROM sample_by_row WHERE {cond} UNION ALL "
               f"SELECT {_COLUMNS} FROM sample_history WHERE rowid >= ? AND {cond}")
        return con.execute(sql, [*args, self.covered, *args]).fetchnumpy()
