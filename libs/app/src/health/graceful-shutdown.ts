import type { Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { type INestApplication, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '#platform';

/** Set once the process has been told to stop: from then on readiness fails, so traffic goes elsewhere. */
@Injectable()
export class ShutdownState {
  private signal?: string;

  get stopping(): boolean {
    return this.signal !== undefined;
  }

  /** The signal that started the shutdown, if any. */
  get reason(): string | undefined {
    return this.signal;
  }

  begin(signal: string): void {
    this.signal ??= signal;
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
/** While in-flight requests finish, keep-alive connections that fall idle are closed this often. */
const IDLE_SWEEP_MS = 100;

/**
 * The shutdown of a serving process, on SIGTERM or SIGINT: readiness turns 503 at once; after
 * `shutdown.readinessDelayMs` (time for a load balancer or Kubernetes to take the replica out of its
 * endpoints) the HTTP server stops accepting and waits for the requests in flight, streamed answers
 * included; then the app closes, so transport servers finish the messages in hand and the ingestion
 * queues their running jobs. The process then exits 0, or exits 1 once `shutdown.graceMs` has passed
 * since the signal, whatever is still running. A second signal stops the process at once.
 */
export function closeOnSignals(app: INestApplication, config: AppConfig): void {
  const log = new Logger('Shutdown');
  const onSignal = (signal: NodeJS.Signals) => {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    const { readinessDelayMs, graceMs } = config.shutdown;
    log.log(`${signal}: not ready any more; closing in ${readinessDelayMs} ms, exiting within ${graceMs} ms`);
    app.get(ShutdownState).begin(signal);
    setTimeout(() => {
      log.error(`still closing ${graceMs} ms after ${signal}: exiting anyway`);
      process.exit(1);
    }, graceMs).unref();
    delay(readinessDelayMs)
      .then(() => close(app))
      .then(
        () => process.exit(0),
        (error: Error) => {
          log.error(`closing failed: ${error.stack ?? error.message}`);
          process.exit(1);
        },
      );
  };
  for (const s of SIGNALS) process.on(s, onSignal);
}

async function close(app: INestApplication): Promise<void> {
  const server = app.getHttpServer() as Server;
  // close() stops accepting and waits for every open connection; a keep-alive connection between
  // requests would hold it for ever, so those are closed now and as each in-flight request ends.
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  try {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  } finally {
    clearInterval(sweep);
  }
  // Only now that no request can need them do the transports, queues and connections close.
  await app.close();
}
