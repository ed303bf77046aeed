/** WCAG 2 colour contrast: parsing computed colours, relative luminance, contrast ratio,
 * and the series palettes chosen by the theme's background (light or dark). */

export type RGBA = [number, number, number, number];

/** Parse `#rgb`, `#rrggbb`, `rgb(r, g, b)`, `rgba(r, g, b, a)` (and the space syntax), `white`,
 * `black`, `transparent`; null when not understood. */
export function parseColor(text: string): RGBA | null {
  const s = text.trim().toLowerCase();
  if (s === "transparent") return [0, 0, 0, 0];
  if (s === "white") return [255, 255, 255, 1];
  if (s === "black") return [0, 0, 0, 1];
  let m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/.exec(s);
  if (m) {
    const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join("") : m[1];
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)).concat(1) as RGBA;
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(s);
  if (!m) return null;
  let a = m[4] === undefined ? 1 : parseFloat(m[4]);
  if (m[4]?.endsWith("%")) a /= 100;
  return [Number(m[1]), Number(m[2]), Number(m[3]), a];
}

/** `top` painted over an opaque `bottom` (alpha compositing). */
export function over(top: RGBA, bottom: RGBA): RGBA {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1) as RGBA;
}

/** WCAG relative luminance of an opaque colour (0 black .. 1 white). */
export function luminance(c: RGBA): number {
  const [r, g, b] = c.slice(0, 3).map((v) => {
    const x = v / 255;
    return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio (1..21) of `fg` over the opaque `bg` (a translucent `fg` is composited). */
export function contrastRatio(fg: RGBA, bg: RGBA): number {
  const a = luminance(over(fg, bg));
  const b = luminance(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

/** Series colours for light backgrounds: at least 4.5:1 on white, 4:1 on #eee. */
export const PALETTE_LIGHT = [
  "#1f77b4", "#b85500", "#2a7f2a", "#d62728", "#8c5fb8",
  "#8c564b", "#c0368c", "#6e6e6e", "#767600", "#0e7f8c",
];

/** Series colours for dark backgrounds: at least 6.4:1 on #212121, 4:1 on #424242. */
export const PALETTE_DARK = [
  "#6cb4f0", "#ffa04d", "#6fd36f", "#ff7b7b", "#c5a3ef",
  "#d2a08c", "#f7a8dc", "#bdbdbd", "#dede5a", "#5fd8e6",
];

/** The palette that reads on `background` (a CSS colour, e.g. `--jp-layout-color1`). */
export function paletteFor(background: string): string[] {
  const bg = parseColor(background);
  return bg && luminance(over(bg, [255, 255, 255, 1])) < 0.18 ? PALETTE_DARK : PALETTE_LIGHT;
}
