// Minimal, real OpenID Connect provider for sohoa's integration tests.
//
// Built on `oidc-provider` (panva/node-oidc-provider). Configured only through
// environment variables (see README.md). Interactions (login + consent) are
// completed automatically, without any form, for the account OIDC_SUB.
//
// stdout carries exactly one line: `listening http://127.0.0.1:<port>`.
// Everything else goes to stderr.

import http from 'node:http';
import crypto from 'node:crypto';

// oidc-provider prints NOTICEs with console.info (stdout). Keep stdout clean.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const log = (...args) => console.error('[oidc]', ...args);

function env(name, { required = true, fallback } = {}) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (required && fallback === undefined) {
      log(`missing required environment variable ${name}`);
      process.exit(2);
    }
    return fallback;
  }
  return value;
}

const PORT = Number.parseInt(env('OIDC_PORT', { fallback: '0' }), 10);
const CLIENT_ID = env('OIDC_CLIENT_ID');
const CLIENT_SECRET = env('OIDC_CLIENT_SECRET');
const REDIRECT_URI = env('OIDC_REDIRECT_URI');
const SUB = env('OIDC_SUB');
const CCCD = env('OIDC_CCCD');

if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  log(`invalid OIDC_PORT: ${process.env.OIDC_PORT}`);
  process.exit(2);
}
if (!/^\d{12}$/.test(CCCD)) {
  log(`OIDC_CCCD must be exactly 12 digits, got ${JSON.stringify(CCCD)}`);
  process.exit(2);
}

const { Provider } = await import('oidc-provider');

// Signing keys generated at start: RS256 (used for ID tokens) and ES256.
function jwk(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return {
    ...privateKey.export({ format: 'jwk' }),
    kid: `${alg.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}`,
    alg,
    use: 'sig',
  };
}
const keys = [
  jwk('rsa', { modulusLength: 2048 }, 'RS256'),
  jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
];

// Listen first so the issuer can carry the actual port.
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const ISSUER = `http://127.0.0.1:${port}`;

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
      application_type: 'web',
    },
  ],
  clientAuthMethods: ['client_secret_basic'],
  responseTypes: ['code'],
  pkce: {
    methods: ['S256'],
    required: () => true,
  },
  scopes: ['openid', 'cccd'],
  claims: {
    openid: ['sub'],
    cccd: ['cccd'],
  },
  // Put scope-granted claims (cccd) into the ID token too, not only userinfo.
  conformIdTokenClaims: false,
  jwks: { keys },
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
  },
  interactions: {
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async findAccount(_ctx, id) {
    if (id !== SUB) return undefined;
    return {
      accountId: id,
      async claims(_use, _scope, _claims, _rejected) {
        return { sub: id, cccd: CCCD };
      },
    };
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  renderError(ctx, out, error) {
    log('renderError', out, error?.message ?? error);
    ctx.type = 'application/json';
    ctx.body = out;
  },
});

for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error', 'introspection.error', 'revocation.error']) {
  provider.on(event, (...args) => {
    const err = args.find((a) => a instanceof Error);
    log(event, err?.message, err?.error_description ?? '');
  });
}

// Completes whichever prompt is pending, then redirects back to the provider.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: SUB } };
  } else if (prompt.name === 'consent') {
    const accountId = session?.accountId ?? SUB;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    grant.addOIDCScope('openid cccd');
    grant.addOIDCClaims(['cccd']);
    const grantId = await grant.save();
    result = { consent: { grantId } };
  } else {
    result = { error: 'access_denied', error_description: `unsupported prompt ${prompt.name}` };
  }
  log(`interaction ${uid}: completing prompt ${prompt.name}`);
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

// Test clients may keep cookies as a plain list of name=value pairs, ignoring
// Path and expiry, and so may send the same name more than once (e.g. an old
// and a new `_interaction_resume`). The cookie parser would take the first
// one; keep only the LAST value sent for each name, i.e. the newest.
function dedupeCookies(req) {
  const header = req.headers.cookie;
  if (!header) return;
  const jar = new Map();
  for (const part of header.split(';')) {
    const pair = part.trim();
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    jar.delete(name);
    jar.set(name, pair);
  }
  req.headers.cookie = [...jar.values()].join('; ');
}

const callback = provider.callback();
handler = (req, res) => {
  log(req.method, req.url);
  dedupeCookies(req);
  if (req.method === 'GET' && /^\/interaction\/[^/?]+(\?.*)?$/.test(req.url)) {
    interaction(req, res).catch((err) => {
      log('interaction failed:', err?.message ?? err);
      if (!res.headersSent) {
        res.statusCode = 400;
        res.setHeader('Content-Type', 'text/plain');
      }
      res.end(`interaction failed: ${err?.message ?? err}\n`);
    });
    return;
  }
  callback(req, res);
};

process.stdout.write(`listening ${ISSUER}\n`);

function shutdown(signal) {
  log(`received ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
