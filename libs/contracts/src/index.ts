/** The published language between contexts: names, messages, ports and errors. No framework code. */
export * from './context-name.js';
export * from './errors.js';
export * from './error-status.js';
export * from './patterns.js';
export * from './filter.js';
export * from './dto/index.js';
export * from './ports.js';
export * from './events.js';
export * from './normalize-query.js';
export * from './answer-wording.js';
export * from './access.js';
