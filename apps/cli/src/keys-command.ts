import { Logger } from '@nestjs/common';
import { Command } from 'commander';
import { type AppConfig, loadConfig, openDatabase } from '#platform';
import { ApiKeyRepository, ApiKeysService, CreateKeyBody, type KeyView } from '#gateway';

/**
 * `ragnest keys create|list|revoke`: the API keys, straight in the database the server uses
 * (DATABASE_URL or the embedded one in DATA_DIR), so the first admin key can be made before any client
 * may call the server. A key is printed once, when it is created.
 */
async function withKeys<T>(fn: (keys: ApiKeysService) => Promise<T>): Promise<T> {
  const config: AppConfig = loadConfig();
  // stdout carries only the key (KEY=$(ragnest keys create …)) or the list: the database's notes stay out.
  Logger.overrideLogger(['fatal', 'error', 'warn']);
  const db = await openDatabase(config);
  try {
    return await fn(new ApiKeysService(new ApiKeyRepository(db.dataSource)));
  } finally {
    await db.close();
  }
}

function describeKey(k: KeyView): string {
  const state = k.revokedAt ? `revoked ${k.revokedAt}` : `last used ${k.lastUsedAt ?? 'never'}`;
  return `${k.id}  ${k.name}  [${k.scopes.join(' ')}]  created ${k.createdAt}, ${state}`;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'API keys: create (shown once), list, revoke. Scopes: admin, read:<collection>, write:<collection>, ' +
      'where <collection> may end in * (a prefix) or be * (every collection)',
  );

  keys
    .command('create')
    .description('create a key and print it (the only time it is shown)')
    .requiredOption('-n, --name <name>', 'what the key is for')
    .requiredOption(
      '-s, --scope <scope>',
      'a scope (repeat for more): admin, read:docs-*, write:inbox',
      collect,
    )
    .option('--json', 'print the key and its details as JSON')
    .action(async (options: { name: string; scope: string[]; json?: boolean }) => {
      const parsed = CreateKeyBody.safeParse({ name: options.name, scopes: options.scope });
      if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
      const created = await withKeys((k) => k.create(parsed.data));
      if (options.json) console.log(JSON.stringify(created, null, 2));
      else {
        console.log(created.key);
        console.error(`created ${describeKey(created)}\nThe key is not stored anywhere: keep it now.`);
      }
    });

  keys
    .command('list')
    .description('list keys (never their secrets)')
    .option('--json', 'as JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await withKeys((k) => k.list());
      if (options.json) console.log(JSON.stringify({ keys: list }, null, 2));
      else if (list.length === 0) console.log('no keys: the server answers loopback clients only');
      else for (const k of list) console.log(describeKey(k));
    });

  keys
    .command('revoke')
    .description('revoke a key by its id (every gateway refuses it within AUTH_KEY_CACHE_MS)')
    .argument('<id>', 'the key id (the <id> of rn_<id>_<secret>, as `keys list` shows it)')
    .action(async (id: string) => {
      const revoked = await withKeys((k) => k.revoke(id));
      console.log(`revoked ${describeKey(revoked)}`);
    });

  return keys;
}
