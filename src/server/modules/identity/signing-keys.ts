import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type CryptoKey as JoseKey,
  type JWK,
} from 'jose';
import type { Database } from '../../platform/db/database.js';
import * as repo from './identity.repository.js';

export interface SigningKey {
  kid: string;
  privateKey: JoseKey;
  publicJwk: JWK;
}

export interface KeyRing {
  /** Key new tokens are signed with. */
  current: SigningKey;
  /** Public keys accepted for verification, by kid. */
  verification: Map<string, JoseKey>;
  /** JWKS document for `/.well-known/jwks.json`. */
  jwks: { keys: JWK[] };
}

const ALG = 'ES256';

async function publicJwkOf(privateJwk: JWK): Promise<JWK> {
  const { d: _private, ...publicPart } = privateJwk;
  return { ...publicPart, alg: ALG, use: 'sig', kid: await calculateJwkThumbprint(publicPart) };
}

async function toSigningKey(privateJwk: JWK): Promise<SigningKey> {
  const publicJwk = await publicJwkOf(privateJwk);
  return { kid: publicJwk.kid!, privateKey: (await importJWK(privateJwk, ALG)) as JoseKey, publicJwk };
}

/**
 * Loads the ES256 key ring. With `JWT_PRIVATE_KEY` set, that key signs. Otherwise the key
 * lives in the database so that every API process signs and verifies alike: the first
 * process generates one, and all of them settle on the oldest active key if two raced.
 */
export async function loadKeyRing(database: Database, pem: string | undefined): Promise<KeyRing> {
  let current: SigningKey;
  if (pem) {
    const imported = await importPKCS8(pem, ALG, { extractable: true });
    current = await toSigningKey(await exportJWK(imported));
  } else {
    current = await databaseKey(database);
  }
  const stored = await repo.activeSigningKeys(database.db);
  const publicJwks = [current.publicJwk, ...stored.map((row) => row.publicJwk as JWK)].filter(
    (jwk, index, all) => all.findIndex((other) => other.kid === jwk.kid) === index,
  );
  const verification = new Map<string, JoseKey>();
  for (const jwk of publicJwks) verification.set(jwk.kid!, (await importJWK(jwk, ALG)) as JoseKey);
  return { current, verification, jwks: { keys: publicJwks } };
}

async function databaseKey(database: Database): Promise<SigningKey> {
  let [oldest] = await repo.activeSigningKeys(database.db);
  if (!oldest) {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const publicJwk = await publicJwkOf(privateJwk);
    await repo.insertSigningKey(database.db, { kid: publicJwk.kid!, privateJwk, publicJwk });
    // Another process may have inserted first: every process takes the oldest key.
    [oldest] = await repo.activeSigningKeys(database.db);
  }
  return toSigningKey(oldest!.privateJwk as JWK);
}

/**
 * Loads the key ring on first use and keeps it; a failed load (say, migrations not yet
 * applied) is retried by the next caller instead of failing the process at start.
 */
export function lazyKeyRing(database: Database, pem: string | undefined): () => Promise<KeyRing> {
  let loading: Promise<KeyRing> | undefined;
  return () => {
    loading ??= loadKeyRing(database, pem).catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
