import type { EphemeralStore, PubSub } from '../../platform/pubsub/pubsub.port.js';

/** Pub/sub channel of revocations; every process applies them to its local copy. */
export const REVOCATIONS_CHANNEL = 'auth-revocations';
const KEY_PREFIX = 'revoked:';

/**
 * Revoked sessions and users, checked on every authenticated request without a round trip:
 * each process keeps a local copy, filled at start from the shared store and kept current
 * through pub/sub. Entries live as long as an access token can, then vanish.
 *
 * - `session:<familyId>`: tokens of that sign-in session are refused.
 * - `user:<userId>` = epoch ms: tokens issued before that instant are refused (deactivation,
 *   role change), tokens issued after are fine.
 */
export class Revocations {
  private readonly local = new Map<string, { value: number; expiresAt: number }>();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly store: EphemeralStore,
    private readonly pubsub: PubSub,
    private readonly ttlMs: number,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.pubsub.subscribe(REVOCATIONS_CHANNEL, (message) => {
      const { key, value, expiresAt } = JSON.parse(message) as {
        key: string;
        value: number;
        expiresAt: number;
      };
      this.remember(key, value, expiresAt);
    });
    const now = Date.now();
    for (const { key, value } of await this.store.scan(KEY_PREFIX)) {
      const [stamp, expiresAt] = value.split('/').map(Number);
      if (expiresAt && expiresAt > now) this.remember(key.slice(KEY_PREFIX.length), stamp ?? 0, expiresAt);
    }
  }

  async revokeSession(sessionId: string): Promise<void> {
    await this.add(`session:${sessionId}`, Date.now());
  }

  /** Refuses every token of the user issued up to now. */
  async revokeUserTokens(userId: string): Promise<void> {
    await this.add(`user:${userId}`, Date.now());
  }

  /** `issuedAtMs` is the token's issue time in milliseconds. */
  isRevoked(sessionId: string, userId: string, issuedAtMs: number): boolean {
    const now = Date.now();
    const session = this.local.get(`session:${sessionId}`);
    if (session && session.expiresAt > now) return true;
    const user = this.local.get(`user:${userId}`);
    return Boolean(user && user.expiresAt > now && issuedAtMs <= user.value);
  }

  private async add(key: string, value: number): Promise<void> {
    const expiresAt = Date.now() + this.ttlMs;
    this.remember(key, value, expiresAt);
    await this.store.set(`${KEY_PREFIX}${key}`, `${value}/${expiresAt}`, this.ttlMs);
    await this.pubsub.publish(REVOCATIONS_CHANNEL, JSON.stringify({ key, value, expiresAt }));
  }

  private remember(key: string, value: number, expiresAt: number): void {
    const existing = this.local.get(key);
    if (!existing || existing.value < value) this.local.set(key, { value, expiresAt });
    if (this.local.size > 10_000) this.evictExpired();
  }

  private evictExpired(): void {
    const now = Date.now();
    for (const [key, entry] of this.local) if (entry.expiresAt <= now) this.local.delete(key);
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }
}
