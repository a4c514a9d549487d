import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppError, ErrorCode, type Principal } from '#contracts';
import { CONFIG, type AppConfig } from '#platform';
import { parseKey, secretMatches } from '../../domain/api-key.js';
import { KEY_INVALID, KEY_MISSING, KEY_REVOKED, LOOPBACK_ONLY } from '../../domain/auth.errors.js';
import { ApiKeyRepository, type StoredKey } from '../../infrastructure/api-keys/api-key.repository.js';

/** A key's last use is written at most this often per key (by this process; the SQL bounds all). */
export const TOUCH_EVERY_MS = 5000;
/** Keys remembered per process: beyond it the cache is emptied (a flood of made-up ids cannot grow it). */
const CACHE_MAX = 10_000;

/** What a request carried that decides who it is. */
export interface Credentials {
  authorization: string | undefined;
  remoteAddress: string | undefined;
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * Decides who a request is. A request with a key gets that key's principal, or a 401. One without is
 * let in unrestricted only where the configuration says so: with AUTH=off, or from loopback while no key
 * exists (protected mode, as Redis does it); otherwise 401 when keys exist, 403 when none does yet.
 *
 * What is read about a key is reused for `auth.keyCacheMs` (0.5 s by default), so a revocation reaches
 * every gateway within that time without a database round trip per request. While the key store cannot
 * be read, the last thing read about a key (or about whether any exists) stands: no key can be created
 * or revoked in a store nobody reaches, and a database outage must not turn into an authentication one
 * (the request then meets the outage where it needs the data, with that stage's 503). A key never read
 * before gets 503.
 */
@Injectable()
export class Authenticator implements OnApplicationBootstrap {
  private readonly log = new Logger('Auth');
  private readonly cache = new Map<string, { key: StoredKey | undefined; until: number }>();
  private live?: { value: boolean; until: number };
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly keys: ApiKeyRepository,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.auth.enabled) {
      this.log.warn('AUTH=off: every client that reaches this port is served, without a key');
      return;
    }
    const live = await this.keys.anyLive().catch(() => undefined);
    if (live === false)
      this.log.log(
        'no API key exists: only loopback clients (127.0.0.0/8, ::1) are served. Create one with ' +
          '`ragnest keys create --name admin --scope admin`, or set AUTH=off to serve everyone',
      );
    else if (live) this.log.log('API keys are required (Authorization: Bearer <key>)');
  }

  /** The caller's principal, undefined for an unrestricted anonymous caller; throws 401/403. */
  async authenticate(credentials: Credentials): Promise<Principal | undefined> {
    if (!this.config.auth.enabled) return undefined;
    const header = credentials.authorization?.trim();
    if (header) return this.principal(header);
    if (await this.anyLive())
      throw new AppError(KEY_MISSING, 'an API key is required: send "Authorization: Bearer <key>"');
    if (isLoopback(credentials.remoteAddress)) return undefined;
    throw new AppError(
      LOOPBACK_ONLY,
      'no API key exists yet, so this server answers only clients on its own machine (loopback); ' +
        'create a key (ragnest keys create) and send it as "Authorization: Bearer <key>", or start it with AUTH=off',
    );
  }

  private async principal(header: string): Promise<Principal> {
    const space = header.indexOf(' ');
    const scheme = space < 0 ? header : header.slice(0, space);
    if (scheme.toLowerCase() !== 'bearer')
      throw new AppError(KEY_INVALID, 'the Authorization header must be "Bearer <key>"');
    const parsed = parseKey(header.slice(space + 1).trim());
    if (!parsed) throw new AppError(KEY_INVALID, 'the API key is not valid');
    const key = await this.find(parsed.id);
    if (!key || !secretMatches(parsed.secret, key.secretHash))
      throw new AppError(KEY_INVALID, 'the API key is not valid');
    if (key.revokedAt) throw new AppError(KEY_REVOKED, 'the API key was revoked');
    this.touch(key.id);
    return { id: key.id, name: key.name, scopes: key.scopes };
  }

  private async find(id: string): Promise<StoredKey | undefined> {
    const now = Date.now();
    const hit = this.cache.get(id);
    if (hit && hit.until > now) return hit.key;
    const key = await this.read(() => this.keys.find(id)).catch((error: unknown) => {
      if (hit) return hit.key;
      throw error;
    });
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(id, { key, until: now + this.config.auth.keyCacheMs });
    return key;
  }

  private async anyLive(): Promise<boolean> {
    const now = Date.now();
    if (this.live && this.live.until > now) return this.live.value;
    const value = await this.read(() => this.keys.anyLive()).catch((error: unknown) => {
      if (this.live) return this.live.value;
      throw error;
    });
    this.live = { value, until: now + this.config.auth.keyCacheMs };
    return value;
  }

  /** Forgets what this process read, so its own key changes apply here at once. */
  forget(): void {
    this.cache.clear();
    this.live = undefined;
  }

  private touch(id: string): void {
    const now = Date.now();
    if ((this.touched.get(id) ?? 0) + TOUCH_EVERY_MS > now) return;
    if (this.touched.size >= CACHE_MAX) this.touched.clear();
    this.touched.set(id, now);
    this.keys
      .touch(id, TOUCH_EVERY_MS)
      .catch((e: Error) => this.log.warn(`could not record the use of key ${id}: ${e.message}`));
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch {
      throw new AppError(
        ErrorCode.DatabaseUnavailable,
        'cannot check the API key: the key store is unavailable',
      );
    }
  }
}
