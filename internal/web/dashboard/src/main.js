// The dashboard's entry point: reads the page's options, starts the
// factory cards, the live connection and the sprocket catalogue, and
// exposes window.__dashboard, a read-only view for tests and debugging.

import 'uplot/dist/uPlot.min.css';
import './style.css';
import { byId } from './dom.js';
import { createApi } from './api.js';
import { createToken, bindTokenForm } from './token.js';
import { createLive, wsURL } from './live.js';
import { createFactories } from './factories.js';
import { createSprockets } from './sprockets.js';

const options = JSON.parse(byId('dashboard-options').textContent);
const token = createToken();
const tokenForm = bindTokenForm(token);
const api = createApi({ endpoint: options.endpoint, token });

let factories = null;
let sprockets = null;
const live = createLive({
  url: wsURL(options.subscriptionEndpoint || options.endpoint),
  token,
  onPoint: (id, p) => factories?.addPoint(id, p),
  // Points recorded while the connection was down were missed: refetch.
  onReconnect: () => {
    factories?.load();
    if (sprockets?.state === 'error') sprockets.load();
  },
});
factories = createFactories({ api, live });
sprockets = createSprockets({ api, openToken: () => tokenForm.open() });

// A new token may open what the old one could not.
token.onChange(() => {
  if (factories.state === 'error') factories.load();
  if (sprockets.state === 'error') sprockets.load();
});

factories.load();
sprockets.load();

window.__dashboard = Object.freeze({
  /** ready is true once the cards and the catalogue have loaded (or failed). */
  get ready() {
    return !['idle', 'loading'].includes(factories.state) && !['idle', 'loading'].includes(sprockets.state);
  },
  factoriesState: () => factories.state,
  sprocketsState: () => sprockets.state,
  /** charts describes every card: points drawn, zoom, plot width. */
  charts: () => factories.cards().map((c) => c.snapshot()),
  /** plotWidth is the plot area width the cards are fetched for. */
  plotWidth: () => factories.plotWidth(),
  /** connection is the live indicator's state. */
  connection: () => live.status,
  subscriptions: () => live.subscriptions(),
  range: () => factories.range,
  /** aggregate is the line the charts draw (M4 by default). */
  aggregate: () => factories.aggregate,
});
