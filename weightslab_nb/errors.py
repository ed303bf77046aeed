"""Exceptions raised by weightslab_nb.

Every error names the argument that was wrong and what is accepted, so a user can fix the call
without reading our source.
"""

from __future__ import annotations


class UnknownSampleError(KeyError):
    """Raised when sample ids are not in the sample table; nothing was changed.

    Attributes
    ----------
    missing : list
        Up to the first 10 unknown ids, in the order they were given.
    """

    def __init__(self, missing: list, argument: str = "sample_ids", total: int | None = None):
        self.missing = list(missing)[:10]
        self.argument = argument
        self.total = len(missing) if total is None else total
        super().__init__(self.__str__())

    def __str__(self) -> str:
        shown = ", ".join(repr(m) for m in self.missing)
        hidden = self.total - len(self.missing)
        more = f" (and {hidden} more)" if hidden > 0 else ""
        return (f"{self.argument}: {self.total} unknown sample id(s): {shown}{more}. "
                "Ids come from a watched loader (the dataset index or the ids the dataset "
                "provides); see session.dataframe for the known ids.")


class TrainingStopped(Exception):
    """Raised inside the training thread by a watched loader when a stop was requested.

    :func:`weightslab_nb.start_training` treats it as a clean stop; a loop run without it
    sees the exception leave its ``for batch in loader`` statement.
    """
