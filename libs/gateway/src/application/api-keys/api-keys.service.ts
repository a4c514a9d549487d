import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { AppError, SCOPE_MAX, scopeError, type Scope } from '#contracts';
import { newKey } from '../../domain/api-key.js';
import { KEY_NOT_FOUND } from '../../domain/auth.errors.js';
import { ApiKeyRepository, type StoredKey } from '../../infrastructure/api-keys/api-key.repository.js';

export const CreateKeyBody = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .refine((name) => !/\p{Cc}/u.test(name), 'must not contain control characters'),
    scopes: z
      .array(z.string().max(200))
      .min(1)
      .max(SCOPE_MAX)
      .superRefine((scopes, ctx) => {
        for (const s of scopes) {
          const error = scopeError(s);
          if (error) ctx.addIssue({ code: 'custom', message: error });
        }
      }),
  })
  .strict();
export type CreateKeyBody = z.infer<typeof CreateKeyBody>;

/** A key as listed: everything but its secret and hash. */
export interface KeyView {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export const KEY_ID = /^[0-9a-f]{16}$/;

/** Creates, lists and revokes keys: what the admin API and `ragnest keys` both call. */
@Injectable()
export class ApiKeysService {
  constructor(private readonly keys: ApiKeyRepository) {}

  /** The new key with its whole secret: the only time it is ever shown. */
  async create(body: CreateKeyBody): Promise<KeyView & { key: string }> {
    const made = newKey();
    const stored = await this.keys.insert({
      id: made.id,
      name: body.name,
      secretHash: made.secretHash,
      scopes: [...new Set(body.scopes)] as Scope[],
    });
    return { ...view(stored), key: made.key };
  }

  async list(): Promise<KeyView[]> {
    return (await this.keys.list()).map(view);
  }

  async revoke(id: string): Promise<KeyView> {
    const revoked = KEY_ID.test(id) ? await this.keys.revoke(id) : undefined;
    if (!revoked) throw new AppError(KEY_NOT_FOUND, `API key "${id}" does not exist`);
    return view(revoked);
  }
}

export function view(k: StoredKey): KeyView {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
    revokedAt: k.revokedAt,
  };
}
