/**
 * Platform: configuration, the request context and its envelope, the database, resilience, the HTTP
 * plumbing (validation, the exception filter, the edge, rate limits) and the readiness-report port.
 */
export * from './config/app-config.js';
export * from './config/env-schema.js';
export * from './config/load-config.js';
export * from './config/security-config.js';
export * from './context/request-context.js';
export * from './database/data-source.factory.js';
export { DataDirLockedError, LOCK_FILE } from './database/data-dir.lock.js';
export * from './database/database.module.js';
export * from './context/envelope.js';
export * from './resilience/resilience.service.js';
export { PlatformModule } from './platform.module.js';
export * from './http/zod-validation.pipe.js';
export * from './http/app-exception.filter.js';
export * from './http/error-body.js';
export { serializeError } from './errors/serialize-error.js';
export * from './health/readiness-report.js';
export * from './runtime/heap-growth.js';
export * from './runtime/event-loop.js';
export * from './database/database-input-error.js';
export { retryConflicts, transactionRetryingConflicts } from './database/retry-conflicts.js';
export { BackgroundWork, RequestBurst } from './database/session-scheduler.js';
export * from './http/http-edge.js';
export * from './http/security-headers.js';
export * from './http/rate-limit.js';
