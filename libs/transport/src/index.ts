/**
 * Transport: how contexts reach each other. The caller every cross-context call goes through (deadline,
 * resilience policy, metrics and the producer span), the port clients bound to #contracts' ports, the
 * in-process and Redis Streams transports chosen at start (TransportModule), and the domain events that
 * every process publishes and receives over Redis pub/sub. Only the composition root (#app) wires it in.
 */
export { CONTEXT_CLIENTS, type ContextClients } from './context-caller.js';
export { InProcessClient, InProcessServer } from './in-process.transport.js';
export { IN_PROCESS_SERVER, REMOTE_SERVERS, TransportModule } from './transport.module.js';
export { RedisStreamsServer, type RedisStreamsServerOptions } from './redis-streams/redis-streams.server.js';
export { RedisStreamsClient, type RedisStreamsClientOptions } from './redis-streams/redis-streams.client.js';
export { messageOf } from './redis-streams/redis-streams.wire.js';
export { DomainEventsModule } from './events/domain-events.module.js';
