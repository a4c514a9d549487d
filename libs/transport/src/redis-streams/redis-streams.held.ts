/**
 * What a replica of the streams transport holds: the entries it has read or claimed from each stream and
 * not yet acknowledged. The read loop, the reclaimer and the reply publisher all work on this one state.
 */
export interface HeldEntry {
  id: string;
  fields: Record<string, string>;
  deadline: number;
}

export interface StreamState {
  key: string;
  kind: 'request' | 'event';
  /** Entries read or claimed by this replica and not yet acknowledged, running or queued. */
  held: Map<string, HeldEntry>;
  /** XAUTOCLAIM resumes its scan of the pending list where the previous round stopped. */
  cursor: string;
}

/** Entries as Redis returns them: id and the flat field list. */
export type RawEntry = [id: string, fields: string[]];

export function streamState(key: string, kind: StreamState['kind']): StreamState {
  return { key, kind, held: new Map(), cursor: '0-0' };
}

export function heldCount(streams: readonly StreamState[]): number {
  return streams.reduce((sum, stream) => sum + stream.held.size, 0);
}

/**
 * Runs housekeeping that must never take the process down; failures while Redis is away are expected
 * and quiet, others are logged as warnings.
 */
export type Quietly = (task: string, work: () => Promise<unknown>) => Promise<void>;
