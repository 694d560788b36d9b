// Drives panva's openid-client (over oauth4webapi) and jose, unmodified, against a live server in two
// environments (tests/conformance/test_client_libraries.py starts the server and reads the JSON this
// prints). Everything here is what a client-app developer would write; README "Standard clients" shows
// the short version.
//
// Input: CONFORMANCE_CONFIG = {"environments": [{"name", "issuer", "statement"}, ...]}.
// Output (stdout): [{"check", "environment", "library", "ok", "detail"}, ...]. Exit code 0 either way.
import { readFileSync } from 'node:fs'
import * as client from 'openid-client'
import * as oauth from 'oauth4webapi'
import * as jose from 'jose'

const version = (name) =>
  JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version
const OPENID_CLIENT = `openid-client ${version('openid-client')}`
const OAUTH4WEBAPI = `oauth4webapi ${version('oauth4webapi')}`
const JOSE = `jose ${version('jose')}`

const config = JSON.parse(process.env.CONFORMANCE_CONFIG)
const results = []

async function check(name, environment, library, body) {
  try {
    const detail = await body()
    results.push({ check: name, environment, library, ok: true, detail: detail ?? '' })
  } catch (error) {
    results.push({ check: name, environment, library, ok: false, detail: describe(error) })
  }
}

function describe(error) {
  const parts = [error?.name, error?.code, error?.status, error?.error, error?.message]
  return parts.filter((part) => part !== undefined && part !== '').join(' ')
}

// A refusal the library reports: a thrown error (what it raises for an OAuth error response or a
// WWW-Authenticate challenge) or a non-2xx response it hands back.
async function refused(call) {
  let response
  try {
    response = await call()
  } catch (error) {
    // Only the libraries' own refusals count (jose's ERR_J*, openid-client's and oauth4webapi's OAUTH_*):
    // a TypeError of this script is a failed check, not a refusal.
    if (!/^(ERR_J|OAUTH_)/.test(error?.code ?? '')) throw error
    return describe(error)
  }
  if (response instanceof Response && !response.ok) return `HTTP ${response.status}`
  throw new Error(`expected a refusal, got ${response instanceof Response ? response.status : 'a success'}`)
}

// An access token of a deleted or revoked client is refused "within a second" (README, Protected API):
// each worker may hold the client's revocation stamp as read a moment before, so ask again until then.
async function refusedWithin(call, seconds = 1.5) {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    try {
      return await refused(call)
    } catch (error) {
      if (Date.now() >= deadline || !/^expected a refusal/.test(error?.message ?? '')) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

// Plain http on a development machine; production issuers are https and need neither option.
const insecure = { execute: [client.allowInsecureRequests], algorithm: 'oauth2' }
const envs = {}

// The registered client with one of the two client authentications (and a secret: a rotated one later).
function configFor(env, auth, secret = env.registered.client_secret) {
  const configuration = new client.Configuration(env.as, env.registered.client_id, { client_secret: secret }, auth(secret))
  client.allowInsecureRequests(configuration)
  return configuration
}

// --- Per environment: discovery, registration, both client authentications, RFC 9068, introspection ---
for (const { name, issuer, statement } of config.environments) {
  const env = (envs[name] = { issuer })
  await check('discovery (RFC 8414)', name, OPENID_CLIENT, async () => {
    const discovered = await client.discovery(new URL(issuer), 'unregistered', undefined, undefined, insecure)
    env.as = discovered.serverMetadata()
    expect(env.as.issuer === issuer, `issuer ${env.as.issuer}`)
    return env.as.registration_endpoint
  })
  await check('registration (RFC 7591)', name, OPENID_CLIENT, async () => {
    const registered = await client.dynamicClientRegistration(
      new URL(issuer), { software_statement: statement }, undefined, insecure,
    )
    env.registered = registered.clientMetadata()
    expect(env.registered.client_secret && env.registered.registration_access_token, 'credentials missing')
    expect(env.registered.software_statement === statement, 'software_statement not echoed')
    return env.registered.client_id
  })
  await check('client_credentials, client_secret_post', name, OPENID_CLIENT, async () => {
    env.post = configFor(env, client.ClientSecretPost)
    env.tokens = await client.clientCredentialsGrant(env.post)
    expect(env.tokens.token_type.toLowerCase() === 'bearer', env.tokens.token_type)
    return `expires_in ${env.tokens.expires_in}`
  })
  await check('client_credentials, client_secret_basic', name, OPENID_CLIENT, async () => {
    env.basic = configFor(env, client.ClientSecretBasic)
    env.basicTokens = await client.clientCredentialsGrant(env.basic)
    return `scope ${env.basicTokens.scope}`
  })
  await check('RFC 9068 access token from the JWKS', name, JOSE, async () => {
    const jwks = jose.createRemoteJWKSet(new URL(env.as.jwks_uri))
    const { payload } = await jose.jwtVerify(env.tokens.access_token, jwks, {
      issuer, audience: issuer, typ: 'at+jwt', requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
    })
    expect(payload.client_id === env.registered.client_id, 'client_id')
    return `kid ${jose.decodeProtectedHeader(env.tokens.access_token).kid}`
  })
  await check('RFC 9068 access token (validateJwtAccessToken)', name, OAUTH4WEBAPI, async () => {
    const request = new Request(`${issuer}/api/v2/session`, {
      headers: { authorization: `Bearer ${env.basicTokens.access_token}` },
    })
    const claims = await oauth.validateJwtAccessToken(env.as, request, issuer, { [oauth.allowInsecureRequests]: true })
    return `sub ${claims.sub === env.registered.client_id ? 'is the client' : claims.sub}`
  })
  await check('protected API with the token', name, OPENID_CLIENT, async () => {
    const response = await client.fetchProtectedResource(env.post, env.tokens.access_token, new URL(`${issuer}/api/v2/session`), 'GET')
    expect(response.status === 200, `HTTP ${response.status}`)
    return `client ${(await response.json()).client_id === env.registered.client_id ? 'matches' : 'differs'}`
  })
  await check('introspection (RFC 7662)', name, OPENID_CLIENT, async () => {
    const introspection = await client.tokenIntrospection(env.basic, env.tokens.access_token)
    expect(introspection.active === true && introspection.client_id === env.registered.client_id, JSON.stringify(introspection))
    return 'active'
  })
}

// --- Across environments: nothing of one is accepted by the other ---
const [first, second] = config.environments.map((environment) => environment.name)
for (const [from, to] of [[first, second], [second, first]]) {
  const a = envs[from]
  const b = envs[to]
  await check(`token of ${from} refused by ${to}'s JWKS and issuer`, to, JOSE, async () =>
    refused(() => jose.jwtVerify(a.tokens.access_token, jose.createRemoteJWKSet(new URL(b.as.jwks_uri)), {
      issuer: b.issuer, audience: b.issuer, typ: 'at+jwt',
    })),
  )
  await check(`token of ${from} inactive to ${to}'s introspection`, to, OPENID_CLIENT, async () => {
    const introspection = await client.tokenIntrospection(b.basic, a.tokens.access_token)
    expect(introspection.active === false, JSON.stringify(introspection))
    return 'inactive'
  })
  await check(`client of ${from} refused by ${to}'s token endpoint`, to, OPENID_CLIENT, async () => {
    const foreign = new client.Configuration(b.as, a.registered.client_id, a.registered.client_secret, client.ClientSecretPost(a.registered.client_secret))
    client.allowInsecureRequests(foreign)
    return refused(() => client.clientCredentialsGrant(foreign))
  })
  await check(`registration access token of ${from} refused by ${to}`, to, OPENID_CLIENT, async () =>
    refused(() => client.fetchProtectedResource(b.post, a.registered.registration_access_token,
      new URL(`${b.issuer}/o/client/register/${a.registered.client_id}`), 'GET')),
  )
}

// --- Per environment: revocation, then RFC 7592 read, rotate, delete ---
for (const name of [first, second]) {
  const env = envs[name]
  const uri = new URL(env.registered.registration_client_uri)
  await check('revocation (RFC 7009)', name, OPENID_CLIENT, async () => {
    await client.tokenRevocation(env.post, env.tokens.access_token)
    const introspection = await client.tokenIntrospection(env.basic, env.tokens.access_token)
    expect(introspection.active === false, 'still active after revocation')
    return 'revoked, then inactive'
  })
  await check('RFC 7592 read', name, OPENID_CLIENT, async () => {
    expect(uri.origin === env.issuer, `registration_client_uri on ${uri.origin}`)
    const response = await client.fetchProtectedResource(env.post, env.registered.registration_access_token, uri, 'GET')
    expect(response.status === 200, `HTTP ${response.status}`)
    env.read = await response.json()
    expect(env.read.client_id === env.registered.client_id && !('client_secret' in env.read), 'read body')
    return 'no client_secret in a read'
  })
  await check('RFC 7592 rotate (PUT)', name, OPENID_CLIENT, async () => {
    const { registration_access_token, registration_client_uri, client_secret_expires_at, client_id_issued_at, ...metadata } = env.read
    const response = await client.fetchProtectedResource(env.post, env.registered.registration_access_token, uri, 'PUT',
      JSON.stringify(metadata), new Headers({ 'content-type': 'application/json' }))
    expect(response.status === 200, `HTTP ${response.status}`)
    env.rotated = await response.json()
    expect(env.rotated.client_secret !== env.registered.client_secret, 'same secret')
    await client.clientCredentialsGrant(configFor(env, client.ClientSecretBasic, env.rotated.client_secret))
    await client.clientCredentialsGrant(env.post) // the old secret, within the grace period
    await refused(() => client.fetchProtectedResource(env.post, env.registered.registration_access_token, uri, 'GET'))
    return 'new secret works, old secret in its grace period, old registration token refused'
  })
  await check('RFC 7592 delete', name, OPENID_CLIENT, async () => {
    const rotated = configFor(env, client.ClientSecretPost, env.rotated.client_secret)
    const live = await client.clientCredentialsGrant(rotated)
    const response = await client.fetchProtectedResource(rotated, env.rotated.registration_access_token, uri, 'DELETE')
    expect(response.status === 204, `HTTP ${response.status}`)
    await refused(() => client.clientCredentialsGrant(rotated))
    await refusedWithin(() => client.fetchProtectedResource(rotated, live.access_token, new URL(`${env.issuer}/api/v2/session`), 'GET'))
    await refused(() => client.fetchProtectedResource(rotated, env.rotated.registration_access_token, uri, 'GET'))
    return 'token endpoint, its access token and its registration token refused'
  })
}

process.stdout.write(JSON.stringify(results))
