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
 * createApi returns request(operationName, query, variables), which POSTs
 * to endpoint and resolves to the operation's data. The API token, when
 * set, goes with every request: mutations need it when the server has
 * tokens, and reads do when it protects them.
 */
export function createApi({ endpoint, token }) {
  return async function request(operationName, query, variables = {}) {
    // application/json: the server answers errors it finds before
    // execution (a refused mutation, a variable of the wrong type) with 200
    // and the errors, as it does the others, rather than with a 4xx that
    // browsers also log as a failed load.
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const t = token.get();
    if (t) headers.Authorization = `Bearer ${t}`;
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
