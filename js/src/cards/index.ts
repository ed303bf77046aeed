// The card views of the wandb data types beyond images, tables and charts, by entry kind (the
// kinds of CARD_KINDS in lib/media.ts; the Python side is weightslab_nb/panels/media_cards/).

import { jsonView } from "./json";
import { plotlyView } from "./plotly";
import type { CardView } from "./types";

export const CARD_VIEWS: Readonly<Record<string, CardView>> = {
  json: jsonView,
  plotly: plotlyView,
};
