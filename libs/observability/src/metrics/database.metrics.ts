import { Gauge, type Registry } from 'prom-client';

/** What a pg Pool tells of itself (node-postgres's counters). */
export interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** The PostgreSQL connection pool of this process, read when scraped (absent on the embedded PGlite). */
export class DatabaseMetrics {
  private readonly connections: Gauge<'state'>;
  private readonly waiting: Gauge;

  constructor(registry: Registry) {
    this.connections = new Gauge({
      name: 'ragnest_db_pool_connections',
      help: 'Connections of the PostgreSQL pool by state: in_use (checked out) or idle.',
      labelNames: ['state'],
      registers: [registry],
    });
    this.waiting = new Gauge({
      name: 'ragnest_db_pool_waiting_clients',
      help: 'Queries waiting for a connection of the PostgreSQL pool.',
      registers: [registry],
    });
  }

  pool(counts: PoolCounts): void {
    this.connections.set({ state: 'in_use' }, counts.totalCount - counts.idleCount);
    this.connections.set({ state: 'idle' }, counts.idleCount);
    this.waiting.set(counts.waitingCount);
  }
}
