// Live updates: one graphql-transport-ws connection (graphql-ws) carrying a
// productionRecorded subscription per visible factory, with a connection
// indicator, retries with backoff after the server goes away, and
// resubscription on reconnect (graphql-ws re-sends active subscriptions).

import { createClient } from 'graphql-ws/client';
import { byId } from './dom.js';

const LIVE = `subscription Live($id: ID!) {
  productionRecorded(factoryId: $id) { epoch actual goal }
}`;

const LABELS = {
  connecting: 'Live updates: connecting…',
  connected: 'Live updates: connected',
  reconnecting: 'Live updates: reconnecting…',
  offline: 'Live updates: offline',
};

/** wsURL turns the endpoint (a path or an http(s) URL) into a ws(s) URL. */
export function wsURL(endpoint) {
  const u = new URL(endpoint, window.location.href);
  if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol === 'http:') u.protocol = 'ws:';
  return u.href;
}

/** retryDelay is the wait before retry n (0, 1, …): 0.5 s doubling to 10 s, plus up to 0.5 s of jitter. */
export function retryDelay(n) {
  return Math.min(10000, 500 * 2 ** n) + Math.random() * 500;
}

/** OFFLINE_AFTER failed attempts in a row, the indicator says offline (retries go on). */
const OFFLINE_AFTER = 3;

/**
 * createLive opens the connection. onPoint(factoryId, point) receives
 * every recorded point of a factory synced in; onReconnect() is called
 * after a reconnection, when points may have been missed.
 */
export function createLive({ url, token, onPoint, onReconnect }) {
  const indicator = byId('live-status');
  const text = indicator.querySelector('.live-text');
  let status = '';
  let failures = 0; // connection attempts failed in a row
  let client = null;
  let generation = 0;
  /** @type {Map<string, () => void>} factory id -> unsubscribe */
  const subs = new Map();

  function setStatus(s, detail = '') {
    status = s;
    indicator.dataset.state = s;
    text.textContent = LABELS[s] + (detail ? ` (${detail})` : '');
  }

  function describe(err) {
    if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
      return err.reason || `closed with code ${err.code}`;
    }
    if (Array.isArray(err)) return err[0]?.message ?? 'refused';
    return err?.message ?? 'refused';
  }

  function connect() {
    const gen = ++generation;
    failures = 0;
    const mine = (fn) => (...args) => {
      if (gen === generation) fn(...args);
    };
    setStatus('connecting');
    client = createClient({
      url,
      lazy: false,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: (n) => {
        const ms = retryDelay(n);
        if (gen === generation) {
          failures = n + 1;
          if (failures >= OFFLINE_AFTER) setStatus('offline', `the server is unreachable; retrying in ${Math.round(ms / 1000)} s`);
        }
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
      keepAlive: 15000,
      connectionParams: () => {
        const t = token.get();
        return t ? { Authorization: `Bearer ${t}` } : {};
      },
      onNonLazyError: mine((err) => setStatus('offline', describe(err))),
      on: {
        connecting: mine((isRetry) => {
          if (!isRetry) setStatus('connecting');
          else if (failures < OFFLINE_AFTER) setStatus('reconnecting');
        }),
        connected: mine((_socket, _payload, wasRetry) => {
          failures = 0;
          setStatus('connected');
          if (wasRetry) onReconnect();
        }),
        closed: mine(() => {
          if (status === 'connected' || status === 'connecting') setStatus('reconnecting');
        }),
      },
    });
    for (const id of subs.keys()) subs.set(id, subscribe(id));
  }

  function subscribe(id) {
    const c = client;
    return c.subscribe(
      { operationName: 'Live', query: LIVE, variables: { id } },
      {
        next: (msg) => {
          const p = msg?.data?.productionRecorded;
          if (p && c === client) onPoint(id, p);
        },
        // A fatal close or a GraphQL error (the factory was deleted, say):
        // this subscription ends; the next sync or reconnect starts it again.
        error: (err) => {
          if (c === client && Array.isArray(err)) subs.delete(id);
        },
        complete: () => {},
      },
    );
  }

  window.addEventListener('offline', () => setStatus('offline', 'the browser is offline'));
  window.addEventListener('online', () => {
    if (status === 'offline') setStatus('reconnecting');
  });
  token.onChange(() => {
    client?.dispose();
    connect();
  });
  connect();

  return {
    /** status is connecting, connected, reconnecting or offline. */
    get status() {
      return status;
    },
    /** sync subscribes to exactly the factories in ids. */
    sync(ids) {
      const want = new Set(ids);
      for (const [id, stop] of subs) {
        if (!want.has(id)) {
          stop();
          subs.delete(id);
        }
      }
      for (const id of want) if (!subs.has(id)) subs.set(id, subscribe(id));
    },
    /** subscriptions lists the factory ids subscribed to. */
    subscriptions: () => [...subs.keys()],
  };
}
