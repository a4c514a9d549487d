/**
 * The composition root: the application module that hosts the contexts RAG_CONTEXTS names, and the
 * bootstrap every entry point under apps/ shares (HTTP, transports, signals). The only lib that may
 * import every context.
 */
export { AppModule } from './app.module.js';
export { createApp, serve, startProcess } from './bootstrap.js';
