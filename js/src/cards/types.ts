// What a card view of `cards/` is given to draw one logged value.

import type { MediaEntry, ShownMedia } from "../lib/media";

export interface CardContext {
  key: string;
  /** The value shown: its summary, from the trait or a `value` reply. */
  entry: MediaEntry;
  /** What the `media` reply brought for that step (Blob URLs and item metadata); null until
   * it came: the view then draws placeholders from the summary. */
  media: ShownMedia | null;
  /** A bundled library ("plotly", "vega"), loaded on first use. */
  vendor<T = unknown>(name: string): Promise<T>;
  /** False once the card was drawn again or removed: asynchronous work must stop then. */
  alive(): boolean;
  /** What the view keeps across redraws of this card (other steps, new values), e.g. the
   * classes switched off; empty for a new card. */
  memo: Map<string, unknown>;
  /** Run `cleanup` when this drawing is replaced (a new step, a new value) or the card or panel
   * is removed: free a plot, disconnect observers. Called at once when the drawing is already
   * gone. */
  onDispose(cleanup: () => void): void;
  /** Show an error line in the card (an empty text clears it). */
  fail(text: string): void;
}

/** Draws the body of a card; asynchronous parts fill the returned nodes later (if alive). */
export type CardView = (ctx: CardContext) => (Node | null)[];

/** The JSON a Blob URL of a media reply holds. */
export async function jsonAt(url: string): Promise<unknown> {
  const response = await fetch(url);
  return response.json();
}
