// The allowed arrows between libraries, written down once so that lint fails on a forbidden import
// (docs/architecture.md draws the same picture). Modelled on domain-driven-hexagon's rule set.
//
//   apps/*            -> any lib, through its src/index.ts; shared start-up code lives in #app
//   #app              -> every context and the kernel (the composition root); only apps/ import it
//   contexts          -> the shared kernel (KERNEL_ARROWS' libs, #transport excepted), never each other
//   a kernel lib      -> only the libs KERNEL_ARROWS lists for it (so the kernel has no cycle and
//                        knows no context)
//   #ranking-metrics  -> nothing at all (the browser playground bundles it too)
//   src/domain/**     -> no framework (Nest, TypeORM)
//
// Tests under test/ are white-box and may reach into a lib; specs beside the code may use #testing.
const CONTEXTS = '(ingestion|query-understanding|retrieval|generation|presentation|gateway)';
const SPEC = '\\.(spec|int-spec|e2e-spec)\\.ts$';

/** The shared kernel, bottom up: each lib and the libs of ours it may import. */
const KERNEL_ARROWS = {
  contracts: [],
  'ranking-metrics': [],
  'text-analysis': [],
  platform: ['contracts'],
  observability: ['platform', 'contracts'],
  transport: ['observability', 'platform', 'contracts'],
  embeddings: ['text-analysis', 'platform', 'contracts'],
  'search-index': ['platform', 'contracts'],
  'extractive-answer': ['text-analysis', 'contracts'],
};
/** Kernel libs that only the composition root (#app) wires in: contexts reach each other through ports. */
const COMPOSITION_ONLY = ['transport'];
const FOR_CONTEXTS = Object.keys(KERNEL_ARROWS).filter((lib) => !COMPOSITION_ONLY.includes(lib));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules cannot be understood, tested or moved apart.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'context-to-other-context',
      severity: 'error',
      comment:
        'A bounded context reaches another only through #contracts (message patterns, DTOs, ports) ' +
        'and the transport; importing its code couples their releases and deployments.',
      from: { path: `^libs/${CONTEXTS}/` },
      to: { path: `^libs/${CONTEXTS}/`, pathNot: '^libs/$1/' },
    },
    {
      name: 'context-to-kernel-only',
      severity: 'error',
      comment:
        `A context imports only its own code and the kernel libs it may use (#${FOR_CONTEXTS.join(', #')}); ` +
        'the transport and the composition root are wired in by #app.',
      from: { path: `^libs/${CONTEXTS}/` },
      to: {
        path: '^(libs|apps)/',
        pathNot: ['^libs/$1/', `^libs/(${[...FOR_CONTEXTS, 'testing'].join('|')})/`],
      },
    },
    ...Object.entries(KERNEL_ARROWS).map(([lib, allowed]) => ({
      name: `kernel-${lib}-arrows`,
      severity: 'error',
      comment:
        `#${lib} may import ${allowed.length ? allowed.map((l) => `#${l}`).join(', ') : 'no lib of ours'}: ` +
        'the kernel is layered (no cycle between its libs) and knows no context.',
      from: { path: `^libs/${lib}/` },
      to: { path: '^(libs|apps)/', pathNot: [`^libs/(${[lib, ...allowed, 'testing'].join('|')})/`] },
    })),
    {
      name: 'ranking-metrics-imports-nothing',
      severity: 'error',
      comment:
        '#ranking-metrics is bundled into the browser playground as well as the CLI: it stays plain ' +
        'TypeScript with no import, of ours or of a package.',
      from: { path: '^libs/ranking-metrics/', pathNot: SPEC },
      to: { pathNot: '^libs/ranking-metrics/' },
    },
    {
      name: 'lib-internals-only-through-index',
      severity: 'error',
      comment:
        "Another lib is reached only through its src/index.ts (the '#name' import), its public surface.",
      from: { path: '^libs/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^libs/$1/', '^libs/[^/]+/src/index\\.ts$'] },
    },
    {
      name: 'app-into-lib-internals',
      severity: 'error',
      comment: "An app is a thin entry point: it boots libs through their '#name' index only.",
      from: { path: '^apps/' },
      to: { path: '^libs/[^/]+/src/', pathNot: '^libs/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'only-apps-compose',
      severity: 'error',
      comment: '#app (the composition root) hosts every context; only entry points may load it.',
      from: { path: '^libs/', pathNot: '^libs/app/' },
      to: { path: '^libs/app/' },
    },
    {
      name: 'lib-to-app',
      severity: 'error',
      comment: 'Libraries never depend on an entry point.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'app-to-other-app',
      severity: 'error',
      comment: 'Code two apps share belongs in a lib, not in one of the apps.',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'testing-only-in-tests',
      severity: 'error',
      comment: '#testing holds fakes and real-database helpers; production code must not load them.',
      from: { path: '^(libs|apps)/', pathNot: ['^libs/testing/', SPEC] },
      to: { path: '^libs/testing/' },
    },
    {
      name: 'domain-imports-no-framework',
      severity: 'error',
      comment: 'Domain code (entities, value objects, rules) stays plain TypeScript: no Nest, no TypeORM.',
      from: { path: '^libs/[^/]+/src/domain/', pathNot: SPEC },
      to: { path: 'node_modules/(@nestjs|typeorm)/' },
    },
    {
      name: 'domain-imports-no-outer-layer',
      severity: 'error',
      comment: 'The domain is the inside of the hexagon: it does not know its use cases or adapters.',
      from: { path: '^libs/([^/]+)/src/domain/', pathNot: SPEC },
      to: { path: '^libs/$1/src/(application|infrastructure|interface)/' },
    },
    {
      name: 'application-not-to-driving-adapters',
      severity: 'error',
      comment:
        'Queues, processors and controllers call use cases, not the reverse: a use case reaches them ' +
        'through a port in application/ (e.g. IngestionQueue), so the two layers never import each other.',
      from: { path: '^libs/([^/]+)/src/application/', pathNot: SPEC },
      to: { path: '^libs/$1/src/(infrastructure/queue|interface)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that cannot be resolved is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: true,
    enhancedResolveOptions: {
      // package.json "imports" map '#name' to source through the 'source' condition (tsconfig
      // customConditions); resolve it the same way so '#ingestion' lands on libs/ingestion/src/index.ts.
      conditionNames: ['source', 'import', 'require', 'node', 'default'],
      exportsFields: ['exports'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    // ESM sources import './x.js' for './x.ts'.
    reporterOptions: { text: { highlightFocused: true } },
  },
};
