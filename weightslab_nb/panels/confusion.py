"""From a confusion-matrix cell to the samples behind it.

A click on the cell (row ``i``, column ``j``) of a confusion matrix the RunMedia panel draws
(``wl.plot.confusion_matrix``, logged with ``wl.log``) puts the watched samples whose target is
class ``i`` and whose latest prediction is class ``j`` on the session's highlight
(``session.highlight.set_refs(..., source="confusion")``); the sample grid of the same session
then shows only them, with the label in its chip ("label 3 → predicted 5").

Rules:

* **Class order** is the matrix's: ``wl.plot.confusion_matrix`` names classes ``0 .. C-1`` in
  order, so row ``i`` / column ``j`` are the class ids ``i`` / ``j`` of the sample table's
  ``target`` / ``prediction`` columns (the argmax a watched loss recorded last).
* **Origin**: a matrix logged under a key whose first word names an origin (or a loader) of the
  session — ``"val/confusion"``, ``"val_cm"``, ``"train-confusion"``; the first word ends at
  the first ``/``, ``_``, ``-``, ``.``, ``:`` or space — counts the samples of that origin only;
  any other key counts every origin.
* **Nothing found** (no watched samples, none of that origin, or none with that pair): the
  highlight is left as it was and the reply says why (the card shows it).
"""

from __future__ import annotations

import re

from weightslab_nb.errors import InvalidValueError

#: The highlight's ``source`` for a confusion-matrix cell.
SOURCE = "confusion"

_FIRST_WORD = re.compile(r"[^/_\-.: ]+")


def origin_of_key(session, key: str) -> str | None:
    """The origin a matrix logged under ``key`` counts (see the module docstring), or None for
    every origin."""
    match = _FIRST_WORD.match(key.strip())
    if match is None:
        return None
    word = match.group(0)
    for candidate in (word, word.lower()):
        try:
            return session.resolve_origin(candidate)
        except InvalidValueError:
            continue
    return None


def cell_label(labels: list[str], row: int, col: int, origin: str | None) -> str:
    """The highlight's text: ``"label 3 → predicted 5"`` (``" (val)"`` added for one origin)."""
    text = f"label {labels[row]} → predicted {labels[col]}"
    return text if origin is None else f"{text} ({origin})"


def highlight_cell(session, key: str, labels: list[str], row: int, col: int) -> dict:
    """Highlight the samples of cell (``row``, ``col``) of the matrix logged under ``key``.

    Parameters
    ----------
    session : Session
    key : str
        The logged key (it chooses the origin, see the module docstring).
    labels : list[str]
        The matrix's class names, in class-id order.
    row, col : int
        Indices into ``labels`` (checked by the caller): the actual and the predicted class.

    Returns
    -------
    dict
        ``{"count", "origin", "label", "message"}``: how many samples are highlighted now (0:
        the highlight did not change), the origin searched (None: all) and a sentence for the
        card.
    """
    origin = origin_of_key(session, key)
    label = cell_label(labels, row, col, origin)
    total, _ = session.counts(origin)
    if total == 0:
        where = "this session" if origin is None else f"origin {origin!r}"
        return {"count": 0, "origin": origin, "label": label,
                "message": f"{label}: no watched samples in {where}; watch the data with "
                           f"wl.watch_or_edit(dataset, flag='data') to find them"}
    refs = session.outcome_refs(row, col, origin=origin)
    if not refs:
        where = "" if origin is None else f" of origin {origin!r}"
        return {"count": 0, "origin": origin, "label": label,
                "message": f"{label}: no watched sample{where} has label {labels[row]} and "
                           f"latest prediction {labels[col]}; the highlight is unchanged"}
    session.highlight.set_refs(refs, label=label, source=SOURCE)
    noun = "sample" if len(refs) == 1 else "samples"
    return {"count": len(refs), "origin": origin, "label": label,
            "message": f"{label}: {len(refs):,} {noun} highlighted in the sample grid"}
