/**
 * The Redis names of the streams transport. Everything lives under one prefix, so deployments (and test
 * runs) that share a Redis never see each other's requests, events or replicas.
 */
export const DEFAULT_KEY_PREFIX = 'ragnest';

const REQUESTS = 'req';
const EVENTS = 'events';
const REPLICAS = 'replicas';
const REPLY = 'reply';
const CANCEL = 'cancel';

export interface RedisStreamsKeys {
  /** Stream of requests for a context; its consumer group is named after the context. */
  requests(context: string): string;
  /** The one stream of events; every subscribing context reads it through its own consumer group. */
  readonly events: string;
  /** Sorted set of a context's live replicas: member = consumer name, score = expiry (epoch ms). */
  replicas(context: string): string;
  /** Pub/Sub channel on which a caller receives its replies. */
  replyChannel(callerId: string): string;
  /** Pub/Sub channel on which a replica hears that a caller gave up on a streamed reply. */
  cancelChannel(consumer: string): string;
}

export function redisStreamsKeys(prefix: string = DEFAULT_KEY_PREFIX): RedisStreamsKeys {
  return {
    requests: (context) => `${prefix}:${REQUESTS}:${context}`,
    events: `${prefix}:${EVENTS}`,
    replicas: (context) => `${prefix}:${REPLICAS}:${context}`,
    replyChannel: (callerId) => `${prefix}:${REPLY}:${callerId}`,
    cancelChannel: (consumer) => `${prefix}:${CANCEL}:${consumer}`,
  };
}
