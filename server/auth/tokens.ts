// HS256 JWTs (jose). A verified token is cached until it expires, so the request path does no
// HMAC per request; the cache is bounded. The secret is generated once and kept in a 0600 file
// unless configured.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { createNodeIo, type Io } from '../../engine/index.js';
import type { Role } from './roles.js';

export interface Claims {
  sub: string;
  tenant_id: string;
  role: Role;
  exp: number;
}

const ISSUER = 'allsource';

export async function loadSecret(
  dataDir: string,
  configured: string | undefined,
  io: Io = createNodeIo(),
): Promise<Uint8Array> {
  if (configured !== undefined && configured !== '') {
    if (configured.length < 32) throw new Error('the JWT secret must be at least 32 characters');
    return Buffer.from(configured);
  }
  const file = path.join(dataDir, 'auth', 'jwt.secret');
  const existing = io.readFile(file);
  if (existing !== null && existing.length >= 32) return existing;
  const secret = randomBytes(48);
  io.mkdirp(path.dirname(file));
  await io.writeFileAtomic(file, secret);
  return secret;
}

export interface Tokens {
  issue(claims: Omit<Claims, 'exp'>): Promise<string>;
  /** Verified claims, from the cache when possible; null for any invalid or expired token. */
  verify(token: string): Claims | null | Promise<Claims | null>;
}

export function createTokens(secret: Uint8Array, lifetimeSec: number, cacheMax: number): Tokens {
  const cache = new Map<string, Claims>();
  return {
    issue: (claims) =>
      new SignJWT({ tenant_id: claims.tenant_id, role: claims.role })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeSec)
        .sign(secret),
    verify(token) {
      const cached = cache.get(token);
      if (cached !== undefined) {
        if (cached.exp * 1000 > Date.now()) return cached;
        cache.delete(token);
        return null;
      }
      return jwtVerify(token, secret, { issuer: ISSUER, algorithms: ['HS256'] }).then(
        ({ payload }) => {
          if (
            typeof payload.sub !== 'string' ||
            typeof payload.tenant_id !== 'string' ||
            typeof payload.exp !== 'number'
          ) {
            return null;
          }
          const claims: Claims = {
            sub: payload.sub,
            tenant_id: payload.tenant_id,
            role: payload.role as Role,
            exp: payload.exp,
          };
          if (cache.size >= cacheMax) cache.delete(cache.keys().next().value!);
          cache.set(token, claims);
          return claims;
        },
        () => null,
      );
    },
  };
}
