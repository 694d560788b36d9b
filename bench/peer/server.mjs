// The peer of `make bench-peer` (bench/peer_bench.py): panva's oidc-provider, pinned in package.json,
// configured as a client_credentials authorization server comparable with ours:
// - a Node cluster of PEER_WORKERS workers (ours runs as many web workers), one port;
// - its state (clients, tokens) in Redis through the adapter below (PEER_REDIS_URL, a database of the
//   bench's own, keys under "peer:");
// - ES256 JWT access tokens through resource indicators (RFC 8707): a token request without `resource`
//   gets the default resource server, whose tokens are JWTs signed with the one ES256 key of the run;
// - introspection (RFC 7662) and revocation (RFC 7009); oidc-provider refuses to introspect JWTs
//   (shared/reject_structured_tokens.js), so the introspection scenario asks for a token of a second
//   resource server whose tokens are opaque (looked up in Redis, as ours are checked against revocation);
// - open dynamic registration (RFC 7591; no initial access token), clients authenticating with
//   client_secret_post, as ours do in the bench.
// Environment: PEER_PORT, PEER_WORKERS, PEER_REDIS_URL. Prints "peer listening" once every worker listens.
import cluster from 'node:cluster';
import crypto from 'node:crypto';

import Redis from 'ioredis';
import Provider from 'oidc-provider';

const PORT = Number(process.env.PEER_PORT || 8126);
const WORKERS = Number(process.env.PEER_WORKERS || 2);
const REDIS_URL = process.env.PEER_REDIS_URL || 'redis://127.0.0.1:6379/6';
export const JWT_RESOURCE = 'https://api.bench.example/';
export const OPAQUE_RESOURCE = 'https://introspected.bench.example/';
const SCOPE = 'api:client:v2';
const TOKEN_TTL = 6 * 3600; // ours: DCR_ACCESS_TOKEN_TTL, 21600 s

if (cluster.isPrimary) {
  // One signing key and one cookie key for every worker of this run.
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: crypto.randomUUID() };
  const env = { PEER_JWK: JSON.stringify(jwk), PEER_COOKIE_KEY: crypto.randomBytes(32).toString('base64url') };
  let listening = 0;
  let stopping = false;
  for (let i = 0; i < WORKERS; i += 1) cluster.fork(env);
  cluster.on('listening', () => {
    listening += 1;
    if (listening === WORKERS) console.log(`peer listening on 127.0.0.1:${PORT} with ${WORKERS} workers`);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`peer worker ${worker.process.pid} exited (${signal || code}); stopping`);
      stop(1);
    }
  });
  const stop = (code) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
    setTimeout(() => process.exit(code), 200).unref();
    process.exitCode = code;
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
} else {
  // A worker whose primary is gone stops too (nothing is left behind by a killed harness).
  process.on('disconnect', () => process.exit(0));
  const redis = new Redis(REDIS_URL, { keyPrefix: 'peer:' });

  // oidc-provider's example Redis adapter (example/adapters/redis.js of its repository), as documented.
  const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
  const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
  class RedisAdapter {
    constructor(name) {
      this.name = name;
    }

    key(id) {
      return `${this.name}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = redis.multi();
      if (consumable.has(this.name)) multi.hmset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (grantable.has(this.name) && payload.grantId) {
        const grantKey = `grant:${payload.grantId}`;
        multi.rpush(grantKey, key);
        const ttl = await redis.ttl(grantKey);
        if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
      }
      if (payload.userCode) {
        multi.set(`userCode:${payload.userCode}`, id);
        multi.expire(`userCode:${payload.userCode}`, expiresIn);
      }
      if (payload.uid) {
        multi.set(`uid:${payload.uid}`, id);
        multi.expire(`uid:${payload.uid}`, expiresIn);
      }
      await multi.exec();
    }

    async find(id) {
      const data = consumable.has(this.name) ? await redis.hgetall(this.key(id)) : await redis.get(this.key(id));
      if (!data || (consumable.has(this.name) && !Object.keys(data).length)) return undefined;
      if (typeof data === 'string') return JSON.parse(data);
      const { payload, ...rest } = data;
      return { ...rest, ...JSON.parse(payload) };
    }

    async findByUid(uid) {
      return this.find(await redis.get(`uid:${uid}`));
    }

    async findByUserCode(userCode) {
      return this.find(await redis.get(`userCode:${userCode}`));
    }

    async destroy(id) {
      await redis.del(this.key(id));
    }

    async revokeByGrantId(grantId) {
      const multi = redis.multi();
      const tokens = await redis.lrange(`grant:${grantId}`, 0, -1);
      tokens.forEach((token) => multi.del(token));
      multi.del(`grant:${grantId}`);
      await multi.exec();
    }

    async consume(id) {
      await redis.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }
  }

  const resourceServers = {
    [JWT_RESOURCE]: { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
    [OPAQUE_RESOURCE]: { accessTokenFormat: 'opaque' },
  };
  const provider = new Provider(`http://127.0.0.1:${PORT}`, {
    adapter: RedisAdapter,
    jwks: { keys: [JSON.parse(process.env.PEER_JWK)] },
    cookies: { keys: [process.env.PEER_COOKIE_KEY] },
    scopes: [SCOPE],
    clientDefaults: {
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
      // The only key is ES256 (the default, RS256, would need an RSA key that nothing else uses).
      id_token_signed_response_alg: 'ES256',
      scope: SCOPE,
    },
    ttl: { ClientCredentials: TOKEN_TTL },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => JWT_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (!resourceServers[resource]) throw new Provider.errors.InvalidTarget();
          return { scope: SCOPE, audience: resource, accessTokenTTL: TOKEN_TTL, ...resourceServers[resource] };
        },
      },
    },
  });
  provider.listen(PORT, '127.0.0.1');
}
