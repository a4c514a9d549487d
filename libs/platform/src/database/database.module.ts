import { Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CONFIG, type AppConfig } from '../config/app-config.js';
import { openDatabase, type Database } from './data-source.factory.js';

export const DATABASE = Symbol('Database');

@Injectable()
class DatabaseCloser implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly database: Database) {}
  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}

/**
 * Imported by the contexts that keep state (ingestion, retrieval); a process hosting neither opens no
 * database. Nest builds it once however many contexts import it.
 */
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [CONFIG],
      useFactory: (config: AppConfig) => openDatabase(config, new Logger('Database')),
    },
    { provide: DataSource, inject: [DATABASE], useFactory: (db: Database) => db.dataSource },
    DatabaseCloser,
  ],
  exports: [DATABASE, DataSource],
})
export class DatabaseModule {}
