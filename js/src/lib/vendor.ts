// Bundled browser libraries a card loads on first use (plotly.js, Vega), never from a CDN: the
// kernel sends the ES module's bytes with an `asset` request (weightslab_nb/panels/media.py),
// and it is imported from a Blob URL. One load per page, shared by every view of every panel;
// a failed load is forgotten, so the next card asks again.

export type FetchAsset = (name: string) => Promise<Uint8Array>;

const CACHE = Symbol.for("weightslab_nb.vendor");

/** The module of the bundled library `name` ("plotly", "vega"), fetched once per page. */
export function loadVendor<T = unknown>(name: string, fetchAsset: FetchAsset): Promise<T> {
  const g = globalThis as unknown as Record<symbol, Map<string, Promise<unknown>>>;
  const cache = (g[CACHE] ??= new Map());
  let loading = cache.get(name);
  if (!loading) {
    loading = fetchAsset(name).then(async (bytes) => {
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "text/javascript" }));
      try {
        return await import(/* @vite-ignore */ url);
      } finally {
        URL.revokeObjectURL(url);
      }
    });
    loading.catch(() => cache.delete(name));
    cache.set(name, loading);
  }
  return loading as Promise<T>;
}
