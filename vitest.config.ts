import swc from 'unplugin-swc';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const builtFile = (path: string) => fileURLToPath(new URL(`./node_modules/${path}`, import.meta.url));

// SWC (not esbuild) compiles the tests so that Nest's decorator metadata is emitted.
// The `source` condition makes the `#lib` imports of package.json resolve to TypeScript sources.
const shared = {
  plugins: [
    swc.vite({
      tsconfigFile: false,
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
        keepClassNames: true,
      },
    }),
  ],
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
};

export default defineConfig({
  ...shared,
  test: {
    reporters: ['default'],
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts'],
          exclude: ['**/*.int-spec.ts', '**/*.e2e-spec.ts'],
        },
      },
      {
        ...shared,
        test: {
          // The Helm chart and the compose file, checked offline (a real Helm 3 from an npm package).
          name: 'deploy',
          include: ['test/deploy/**/*.spec.ts'],
          testTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'integration',
          include: ['libs/**/*.int-spec.ts', 'test/**/*.int-spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        ...shared,
        resolve: {
          ...shared.resolve,
          alias: [
            { find: /^eventsource-parser$/, replacement: builtFile('eventsource-parser/dist/index.js') },
            {
              find: /^eventsource-parser\/stream$/,
              replacement: builtFile('eventsource-parser/dist/stream.js'),
            },
          ],
        },
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          // The MCP SDK's client imports eventsource-parser, which publishes TypeScript sources under the
          // same `source` condition our libs resolve by (and the workers run Node with): the SDK goes through
          // Vite, which is told to take that package's built files.
          server: { deps: { inline: ['@modelcontextprotocol/sdk'] } },
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
