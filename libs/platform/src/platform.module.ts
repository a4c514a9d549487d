import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CONFIG, type AppConfig } from './config/app-config.js';
import { ResilienceService } from './resilience/resilience.service.js';

/** The configuration, read once at start, and the one resilience policy, for every module (global). */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: PlatformModule,
      providers: [{ provide: CONFIG, useValue: config }, ResilienceService],
      exports: [CONFIG, ResilienceService],
    };
  }
}
