// The GraphQL client for queries and mutations: plain fetch, one POST per
// operation, errors turned into ApiError with the server's codes.

/** ApiError is a failed operation: what went wrong, in the server's words when it said any. */
export class ApiError extends Error {
  /**
   * @param {string} message shown to the user
   * @param {{kind: 'network'|'http'|'graphql', status?: number, errors?: any[]}} info
   */
  constructor(message, { kind, status = 0, errors = [] }) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.errors = errors;
  }

  /** code is the first error's extensions.code ("" when none). */
  get code() {
    return this.errors[0]?.extensions?.code ?? '';
  }

  /** unauthenticated reports whether the server wants a (valid) API token. */
  get unauthenticated() {
    return this.status === 401 || this.errors.some((e) => e?.extensions?.code === 'UNAUTHENTICATED');
  }

  /**
   * fieldErrors maps the input fields that BAD_USER_INPUT errors name to
   * their messages, with names normalized by fieldKey. Errors naming no
   * field are listed under "".
   */
  fieldErrors() {
    const out = new Map();
    for (const e of this.errors) {
      if (e?.extensions?.code !== 'BAD_USER_INPUT') continue;
      let field = e.extensions.field ?? '';
      // Variable coercion errors name the field by their path instead:
      // ["variable", "input", "teeth"].
      if (!field && Array.isArray(e.path) && e.path[0] === 'variable') field = String(e.path.at(-1));
      const key = fieldKey(field);
      if (!out.has(key)) out.set(key, e.message);
    }
    return out;
  }
}

/**
 * fieldKey normalizes a field name so that the API's spellings meet:
 * "pitch_diameter", "pitchDiameter" and "input.pitchDiameter" all become
 * "pitchdiameter".
 */
export function fieldKey(name) {
  return String(name).split('.').at(-1).replace(/_/g, '').toLowerCase();
}

/**
 * lsnValue orders PostgreSQL log positions as the server writes them
 * ("16/B374D848": two hexadecimal halves); anything else is -1.
 */
export function lsnValue(s) {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(String(s ?? ''));
  return m ? BigInt(`0x${m[1]}`) * 4294967296n + BigInt(`0x${m[2]}`) : -1n;
}

/**
 * createApi returns request(operationName, query, variables), which POSTs
 * to endpoint and resolves to the operation's data. The API token, when
 * set, goes with every request: mutations need it when the server has
 * tokens, and reads do when it protects them. With read replicas the
 * server answers a write with its log position (the Sprocket-LSN header,
 * and extensions.lsn); the newest one this page was given goes with every
 * later request, so that its reads see its writes even from a standby that
 * lags (docs/graphql.md, "Reading your own writes"). It is kept in the
 * tab's sessionStorage too: a reload right after a write reads it as well.
 */
export function createApi({ endpoint, token }) {
  const stored = 'sprocket.dashboard.lsn';
  let lsn = '';
  try {
    lsn = sessionStorage.getItem(stored) ?? '';
  } catch {
    // Storage refused (privacy settings): this page's own requests still carry it.
  }
  if (lsnValue(lsn) < 0n) lsn = '';
  const remember = (value) => {
    lsn = value;
    try {
      if (value) sessionStorage.setItem(stored, value);
      else sessionStorage.removeItem(stored);
    } catch {
      // As above.
    }
  };
  const keep = (got) => {
    if (lsnValue(got) > lsnValue(lsn)) remember(got);
  };
  // post sends one operation; it resolves to the response and its JSON
  // body (null when there is none).
  const post = async (operationName, query, variables) => {
    // application/json: the server answers errors it finds before
    // execution (a refused mutation, a variable of the wrong type) with 200
    // and the errors, as it does the others, rather than with a 4xx that
    // browsers also log as a failed load.
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const t = token.get();
    if (t) headers.Authorization = `Bearer ${t}`;
    if (lsn) headers['Sprocket-LSN'] = lsn;
    let res;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ operationName, query, variables }),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch {
      throw new ApiError('The server did not answer: is sprocketd running and reachable?', { kind: 'network' });
    }
    let body = null;
    if (/json/i.test(res.headers.get('Content-Type') ?? '')) {
      try {
        body = await res.json();
      } catch {
        body = null;
      }
    }
    return { res, body };
  };
  return async function request(operationName, query, variables = {}) {
    const sent = lsn;
    let { res, body } = await post(operationName, query, variables);
    // A position this server refuses (kept from another database, say) is
    // forgotten, and the operation sent again without it.
    if (sent && res.status === 400 && String(body?.errors?.[0]?.message ?? '').startsWith('Sprocket-LSN')) {
      if (lsn === sent) remember('');
      ({ res, body } = await post(operationName, query, variables));
    }
    keep(res.headers.get('Sprocket-LSN'));
    keep(body?.extensions?.lsn);
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    if (errors.length > 0) {
      throw new ApiError(errors[0]?.message || 'The server refused the request.', { kind: 'graphql', status: res.status, errors });
    }
    if (!res.ok || !body || typeof body.data !== 'object' || body.data === null) {
      const what = body?.message || res.statusText || 'no answer';
      throw new ApiError(`The server answered ${res.status}: ${what}`, { kind: 'http', status: res.status });
    }
    return body.data;
  };
}
