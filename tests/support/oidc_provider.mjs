// A real OpenID Connect provider for the tests (the npm package oidc-provider, pinned in
// package.json), on loopback. Run by tests/support/oidc.py:
//   node tests/support/oidc_provider.mjs PORT ISSUER
// It prints "listening <port> <kid>" once it accepts connections.
//
// Accounts (the login_hint of the authorization request picks one; no password, the
// interaction is scripted below instead of devInteractions' HTML forms):
//   alice     alice@example.com, verified          bob    bob@example.com, NOT verified
//   any other id: <id>@example.com, verified (tests use fresh ids for fresh accounts;
//   "<id>~unverified" gives <id>@example.com not verified)
// Clients (public, PKCE S256 required, redirect http://127.0.0.1/callback):
//   hotgigs-web    the client the server under test accepts
//   other-app      another application of the same provider (wrong audience)
//   hotgigs-short  accepted by the server, but its ID tokens live 1 second (expiry)
// Every instance makes its own RSA key, so a second instance started with the first one's
// ISSUER signs tokens that name the right issuer with a key the first one does not publish.
import crypto from 'node:crypto';

import Provider from 'oidc-provider';

const [port, issuer] = [Number(process.argv[2]), process.argv[3]];
const kid = `test-${crypto.randomBytes(6).toString('hex')}`;
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };

function account(id) {
  const [name, flag] = id.split('~');
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: `${name}@example.com`,
        email_verified: name !== 'bob' && flag !== 'unverified',
        given_name: name.charAt(0).toUpperCase() + name.slice(1),
        family_name: 'Tester',
        name: `${name} Tester`,
      };
    },
  };
}

const client = (id) => ({
  client_id: id,
  token_endpoint_auth_method: 'none',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code'],
  response_types: ['code'],
});

const provider = new Provider(issuer, {
  clients: [client('hotgigs-web'), client('other-app'), client('hotgigs-short')],
  jwks: { keys: [jwk] },
  findAccount: async (ctx, id) => account(id),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  conformIdTokenClaims: false, // the ID token carries the e-mail claims itself
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  ttl: {
    IdToken: (ctx, token, c) => (c && c.clientId === 'hotgigs-short' ? 1 : 300),
    AccessToken: 300,
    AuthorizationCode: 60,
    Interaction: 300,
    Session: 300,
    Grant: 300,
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
});
provider.proxy = false;

// The scripted interaction: log in as login_hint and grant what the client asked for.
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (!match || ctx.method !== 'GET') {
    await next();
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const accountId = details.params.login_hint || 'alice';
  let result;
  if (details.prompt.name === 'login') {
    result = { login: { accountId } };
  } else {
    const grant = new provider.Grant({ accountId: details.session.accountId,
                                       clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port} ${kid}\n`);
});
