"""The sample grid's first page as an HTML table with thumbnails.

The page is asked for exactly as a view asks (the grid's ``page`` request, so the order, the
held snapshot, the highlight and the thumbnails are the grid's own): with the sort and filters
of the last page a view requested, else the default a view starts with (the loss column,
highest first, discarded samples last). At most :data:`MAX_ROWS` rows, without sparklines.
The fresh order is taken (``resort``) unless a view draws the grid, whose held order is left
alone.
"""

from __future__ import annotations

from weightslab_nb.panels.fallback.html import esc, number, png_img, section

#: The most samples the fallback shows.
MAX_ROWS = 24
#: Displayed thumbnail side, in CSS pixels (the PNGs are the grid's own, at most 128 px).
THUMB_SIDE = 48
#: Tiles per table row.
COLUMNS = 6
_QUERY_KEYS = ("sort_by", "descending", "tags", "discarded", "origin", "signal", "signal_min",
               "signal_max", "discarded_last", "highlight")


def page_request(panel) -> dict:
    """The ``page`` request the fallback sends: the last view's sort and filters, offset 0."""
    last = panel.last_request("page")
    if last is not None:
        fields = {k: last[k] for k in _QUERY_KEYS if k in last}
    else:
        loss = panel.session.loss_column
        fields = {"sort_by": loss, "descending": True} if loss else {}
    limit = min(MAX_ROWS, int(getattr(panel, "page_size", MAX_ROWS)))
    # the order as of now; a live view's held order is left alone (no refresh replaces it)
    resort = not panel.has_live_view()
    return {**fields, "type": "page", "offset": 0, "limit": limit, "spark_points": 0,
            "resort": resort}


def render(panel) -> str:
    """The panel's fallback HTML: the page as tiles, :data:`COLUMNS` to a row (thumbnail, then
    ``origin:id``, target ``y``, prediction ``ŷ``, the loss, tags; discarded ones marked)."""
    request = page_request(panel)
    reply, pngs = panel.answer(request)
    rows = reply["rows"]
    loss = reply.get("loss_column")
    tiles = []
    for row, png in zip(rows, pngs):
        ident = f"{row['origin']}:{row['sample_id']}"
        tags = [*row.get("tags", ()), *(f"{k}={v}" for k, v in row.get("categorical", {}).items())]
        lines = [f'<span class="wl-fallback-id">{esc(ident)}</span>',
                 f"y={esc(number(row.get('target')))} ŷ={esc(number(row.get('prediction')))}"]
        if loss:
            lines.append(f"loss {esc(number(row.get('loss')))}")
        if tags:
            lines.append(esc(", ".join(tags)))
        if row.get("discarded"):
            lines.append("<i>discarded</i>")
        tiles.append(png_img(png, f"sample {ident}", THUMB_SIDE, THUMB_SIDE) + "<br>"
                     + "<br>".join(f"<small>{line}</small>" for line in lines))
    note = f"{describe(request)}; {_shown(reply, len(rows))}"
    if not tiles:
        return section("grid", "Sample grid", "<p>no samples</p>", note)
    cells = "".join(
        "<tr>" + "".join(f'<td valign="top" align="center">{t}</td>'
                         for t in tiles[i:i + COLUMNS]) + "</tr>"
        for i in range(0, len(tiles), COLUMNS))
    return section("grid", "Sample grid", f'<table border="0" cellpadding="4">{cells}</table>',
                   note)


def summary(panel) -> str:
    """One line: sample counts."""
    total, active = panel.session.counts()
    return f"sample grid: {total} samples, {active} active"


def describe(request: dict) -> str:
    """The sort and filters of a ``page`` request in words."""
    sort = request.get("sort_by")
    words = [f"sorted by {sort} ({'highest' if request.get('descending', True) else 'lowest'} "
             "first)" if sort else "recorded order"]
    if request.get("discarded", "all") != "all":
        words.append(f"{request['discarded']} samples only")
    if request.get("origin"):
        words.append(f"origin {request['origin']}")
    if request.get("tags"):
        words.append("tags " + " & ".join(map(str, request["tags"])))
    if request.get("signal") and (request.get("signal_min") is not None
                                  or request.get("signal_max") is not None):
        words.append(f"{request['signal']} in [{number(request.get('signal_min'))}, "
                     f"{number(request.get('signal_max'))}]")
    if request.get("highlight"):
        words.append("highlighted step only")
    return ", ".join(words)


def _shown(reply: dict, n: int) -> str:
    matched = reply.get("matched", n)
    return (f"first {n} of {matched} matching samples ({reply.get('total', matched)} in all, "
            f"{reply.get('active', matched)} active)")
