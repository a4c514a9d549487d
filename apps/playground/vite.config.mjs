// The playground's build: `npm run build` writes it to dist/playground, which the gateway serves at `/`
// (libs/gateway/src/interface/playground.ts). Everything is bundled: no CDN, no request at run time but
// the API's own. The `source` condition resolves '#ranking-metrics' to its TypeScript, as the tests do.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  build: {
    outDir: fileURLToPath(new URL('../../dist/playground', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    modulePreload: { polyfill: false },
  },
});
