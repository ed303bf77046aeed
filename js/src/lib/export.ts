// Export of the grid's selection: the file name of the CSV download and the download itself.
// Python builds the CSV (the grid's `export` message -> `export_result`); the browser saves it.

/** An origin as it may appear in a file name: letters, digits, `-`, `_`, `.`; others -> `_`. */
export function fileSafe(text: string): string {
  const s = text.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+|[._]+$/g, "");
  return s.slice(0, 40) || "samples";
}

/**
 * The CSV file name of an export: `weightslab-<origins>-<rows>.csv`, e.g.
 * `weightslab-train-3.csv`, `weightslab-train+val-12.csv`; more than three origins read
 * `<n>origins`; no origin (an empty export) reads `selection`. A cut export says so:
 * `weightslab-train-50000of60000.csv`.
 */
export function exportFileName(origins: readonly string[], rows: number, total = rows): string {
  const names = [...new Set(origins.map(fileSafe))];
  const what = names.length === 0 ? "selection"
    : names.length > 3 ? `${names.length}origins` : names.join("+");
  const count = total > rows ? `${rows}of${total}` : String(rows);
  return `weightslab-${what}-${count}.csv`;
}

/** The reply's fields the download needs, or null when the reply is not a usable export. */
export function exportOf(reply: Record<string, unknown>):
    { csv: string; rows: number; total: number; origins: string[] } | null {
  const { csv, rows, total, origins } = reply;
  if (reply.ok !== true || typeof csv !== "string" || typeof rows !== "number") return null;
  return {
    csv, rows,
    total: typeof total === "number" ? total : rows,
    origins: Array.isArray(origins) ? origins.filter((o): o is string => typeof o === "string") : [],
  };
}

/** Save `text` as a file: a Blob behind a temporary `<a download>`, clicked, then removed. */
export function downloadText(doc: Document, text: string, fileName: string, type = "text/csv"): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const a = doc.createElement("a");
  a.href = url;
  a.download = fileName;
  a.style.display = "none";
  doc.body.appendChild(a);
  try {
    a.click();
  } finally {
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
