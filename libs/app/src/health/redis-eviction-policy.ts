import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import { CONFIG, type AppConfig } from '#platform';
import { messageOf } from '#transport';

/**
 * Redis holds durable work here (the transport's request streams, the ingestion queue): with any
 * `maxmemory-policy` but `noeviction`, a Redis that fills up deletes keys, and queued jobs, pending
 * requests or whole streams vanish without an error anywhere. BullMQ asks for `noeviction` for the same
 * reason. The policy is read at start (a warning in the log) and again for /health/ready, where it is
 * reported but does not turn readiness red: every replica shares the one Redis, so red would take the
 * whole deployment out of its load balancer for a risk that has not yet lost anything, and would not
 * send traffic anywhere better. An operator fixes it with `CONFIG SET maxmemory-policy noeviction`.
 */
export const REQUIRED_EVICTION_POLICY = 'noeviction';
/** The policy is read again at most this often (it can be changed at run time with CONFIG SET). */
const RECHECK_MS = 30_000;

export interface EvictionPolicyReport {
  maxmemoryPolicy: string;
  ok: boolean;
  warning?: string;
}

@Injectable()
export class RedisEvictionPolicy implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Redis');
  private redis?: Redis;
  private last?: { at: number; report: Promise<EvictionPolicyReport> };

  constructor(@Inject(CONFIG) private readonly config: Pick<AppConfig, 'redisUrl'>) {}

  /** Whether this process uses Redis at all (no REDIS_URL: nothing to report). */
  get enabled(): boolean {
    return this.config.redisUrl !== undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    const report = await this.report();
    if (report.warning) this.log.warn(report.warning);
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
    this.redis = undefined;
  }

  report(): Promise<EvictionPolicyReport> {
    const now = Date.now();
    if (this.last && now - this.last.at < RECHECK_MS) return this.last.report;
    const entry = { at: now, report: this.read() };
    this.last = entry;
    // An unreachable Redis is read again on the next ask, not in 30 s.
    void entry.report.then((r) => {
      if (r.maxmemoryPolicy === 'unknown' && this.last === entry) this.last = undefined;
    });
    return entry.report;
  }

  private async read(): Promise<EvictionPolicyReport> {
    this.redis ??= new Redis(this.config.redisUrl!, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 1_000,
      connectTimeout: 1_000,
      retryStrategy: () => null,
      connectionName: 'ragnest:config-check',
    });
    // The failure is returned as the report; ioredis would otherwise print it as unhandled.
    this.redis.on('error', () => undefined);
    try {
      if (this.redis.status !== 'ready') {
        if (this.redis.status === 'end') this.redis = undefined;
        await this.redis?.connect();
      }
      const [, policy] = (await this.redis!.config('GET', 'maxmemory-policy')) as [string, string];
      return evictionReport(policy);
    } catch (error) {
      this.redis?.disconnect();
      this.redis = undefined;
      return {
        maxmemoryPolicy: 'unknown',
        ok: true,
        warning: `could not read maxmemory-policy: ${messageOf(error)}`,
      };
    }
  }
}

export function evictionReport(policy: string | undefined): EvictionPolicyReport {
  if (policy === undefined) return { maxmemoryPolicy: 'unknown', ok: true };
  if (policy === REQUIRED_EVICTION_POLICY) return { maxmemoryPolicy: policy, ok: true };
  return {
    maxmemoryPolicy: policy,
    ok: false,
    warning:
      `Redis maxmemory-policy is "${policy}", not "${REQUIRED_EVICTION_POLICY}": when Redis fills up it will ` +
      'evict queued ingestion jobs and in-flight requests without an error. Set it with ' +
      '`CONFIG SET maxmemory-policy noeviction` (and in redis.conf).',
  };
}
