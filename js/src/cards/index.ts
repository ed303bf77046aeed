// The card views of the wandb data types beyond images, tables and charts, by entry kind (the
// kinds of CARD_KINDS in lib/media.ts; the Python side is weightslab_nb/panels/media_cards/).

import { boxesView } from "./boxes";
import { graphView } from "./graph";
import { jsonView } from "./json";
import { maskView } from "./mask";
import { moleculeView } from "./molecule";
import { plotlyView } from "./plotly";
import type { CardView } from "./types";
import { vegaView } from "./vega";

export const CARD_VIEWS: Readonly<Record<string, CardView>> = {
  boxes: boxesView,
  graph: graphView,
  json: jsonView,
  mask: maskView,
  molecule: moleculeView,
  plotly: plotlyView,
  vega: vegaView,
};
