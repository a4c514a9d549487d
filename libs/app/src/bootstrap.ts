import 'reflect-metadata';
import { type INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ALL_CONTEXTS, ContextName } from '#contracts';
import { accessLog, createRootLogger, JsonLogger, Metrics, Tracing } from '#observability';
import { type AppConfig, installHttpEdge, limitHeapGrowth, limitSlowClients, loadConfig } from '#platform';
import { InProcessServer, RedisStreamsServer } from '#transport';
import { mountOpenApi, mountPlayground } from '#gateway';
import { AppModule } from './app.module.js';
import { closeOnSignals } from './health/graceful-shutdown.js';
import { warmsUp, warmUp } from './warm-up.js';

/** What this process hosts, as logs and traces name it: `all`, or its contexts. */
function serviceName(config: AppConfig): string {
  return config.contexts.size === ALL_CONTEXTS.length ? 'all' : [...config.contexts].join(',');
}

/** The secrets of a configuration, masked wherever they would appear in a log line. */
function secretsOf(config: AppConfig): (string | undefined)[] {
  const url =
    config.database.url && URL.canParse(config.database.url) ? new URL(config.database.url) : undefined;
  return [config.llm.apiKey, config.embeddings.apiKey, config.rerank.apiKey, url?.password || undefined];
}

/**
 * Builds the application for a configuration: the contexts it hosts answer their message patterns on
 * the in-process transport; the gateway (when hosted) gets its HTTP plumbing. Nothing listens yet.
 * Unless `signals` is false, SIGTERM and SIGINT close it at once (Nest's shutdown hooks).
 */
export async function createApp(
  config: AppConfig,
  options: { logs?: boolean; signals?: boolean; metrics?: Metrics } = {},
): Promise<INestApplication> {
  // Before the modules load: the pg instrumentation patches the driver when TypeORM first requires it.
  if (config.observability.tracing)
    await Tracing.start({
      serviceName: `ragnest-${serviceName(config)}`,
      sampleRatio: config.observability.traceSampleRatio,
    });
  const server = new InProcessServer();
  // With Redis, each context hosted here also answers remote callers, one consumer group per context.
  const remoteServers = config.redisUrl
    ? [...config.contexts]
        .filter((c) => c !== ContextName.Gateway)
        .map(
          (context) => new RedisStreamsServer({ url: config.redisUrl!, prefix: config.redisPrefix, context }),
        )
    : [];
  const root = createRootLogger({
    level: config.logLevel,
    format: config.observability.logFormat,
    service: serviceName(config),
    secrets: secretsOf(config),
  });
  const metrics =
    options.metrics ??
    new Metrics({ collectionLabels: config.observability.metricsCollectionLabels, processMetrics: true });
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, server, remoteServers, metrics),
    {
      bodyParser: false,
      logger: options.logs === false ? false : new JsonLogger(root),
      abortOnError: false,
    },
  );
  // First, so that its span is active for all that follows and its line times the whole request.
  if (options.logs !== false) app.use(accessLog(root, metrics));
  else app.use(accessLog(root.child({}, { level: 'silent' }), metrics));
  // Request id, security headers, CORS, cross-site refusal, body deadline: before any body is parsed.
  installHttpEdge(app, config.security);
  limitSlowClients(app.getHttpServer(), config.security);
  app.useBodyParser('json', { limit: config.http.bodyLimitBytes });
  app.useBodyParser('urlencoded', { limit: config.http.bodyLimitBytes, extended: false });
  app.disable('x-powered-by');
  app.set('etag', false);
  if (options.signals !== false) app.enableShutdownHooks();
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  for (const remote of remoteServers)
    app.connectMicroservice({ strategy: remote }, { inheritAppConfig: true });
  if (config.contexts.has(ContextName.Gateway)) {
    mountOpenApi(app);
    // Not built (a test run from source before `npm run build`): the API is served without it.
    if (!mountPlayground(app)) new Logger('ragnest').warn('The playground is not built: npm run build');
  }
  await app.startAllMicroservices();
  await app.init();
  return app;
}

/**
 * Starts serving HTTP, with the heap's growth bounded (limitHeapGrowth), and prints where: the API where
 * the gateway is hosted, and in every process the health endpoints (each container's probes). SIGTERM
 * and SIGINT shut it down gracefully: readiness fails first, then work in hand finishes (closeOnSignals).
 */
export async function serve(config: AppConfig): Promise<INestApplication> {
  limitHeapGrowth(config.heapGrowingPercent);
  const app = await createApp(config, { signals: false });
  const warmedInMs = warmsUp(config) ? await warmUp(app) : undefined;
  await app.listen(config.http.port, config.http.host);
  closeOnSignals(app, config);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host;
  const log = new Logger('ragnest');
  if (warmedInMs !== undefined) log.log(`warmed up in ${Math.round(warmedInMs)} ms`);
  if (config.contexts.has(ContextName.Gateway)) {
    log.log(`Playground: http://${host}:${port}/`);
    log.log(`API:  http://${host}:${port}/rag`);
    log.log(`Docs: http://${host}:${port}/docs`);
  } else {
    log.log(`${[...config.contexts].join(', ')}: health on http://${host}:${port}/health/ready`);
  }
  return app;
}

/** A process entry point: the environment's configuration, with the app's own overrides on top. */
export function startProcess(overrides: Record<string, string> = {}): void {
  const label = overrides.RAG_CONTEXTS ?? 'ragnest';
  Promise.resolve()
    .then(() => serve(loadConfig({ ...process.env, ...overrides })))
    .catch((error: Error) => {
      console.error(`${label} failed to start: ${error.message}`);
      process.exit(1);
    });
}
