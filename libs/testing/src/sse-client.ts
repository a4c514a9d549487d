/** A server-sent event as a test sees it. */
export interface SseEvent {
  event: string;
  data: Record<string, any>;
}

/**
 * An event stream opened with fetch and read one event at a time (comment lines skipped): `next` gives
 * undefined once it has ended; `cancel` closes the connection, as a client that goes away does.
 */
export async function openEventStream(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const next = async (): Promise<SseEvent | undefined> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const event = lines.find((l) => l.startsWith('event: '));
        const data = lines.find((l) => l.startsWith('data: '));
        if (event && data) return { event: event.slice(7), data: JSON.parse(data.slice(6)) };
        continue;
      }
      const { done, value } = await reader.read();
      if (done) return undefined;
      buffer += value;
    }
  };
  /** Reads until `stop` holds for an event (which is returned last), or to the end of the stream. */
  const readUntil = async (stop: (e: SseEvent) => boolean = () => false): Promise<SseEvent[]> => {
    const events: SseEvent[] = [];
    for (let e = await next(); e; e = stop(e) ? undefined : await next()) events.push(e);
    return events;
  };
  const cancel = () => reader.cancel().catch(() => undefined);
  return { status: res.status, headers: res.headers, next, readUntil, cancel };
}

/** A whole event-stream body, already read, as its events in order (for short streams read at once). */
export function parseEventStream(text: string): SseEvent[] {
  return text
    .trim()
    .split('\n\n')
    .map((block) => {
      const [event, data] = block.split('\n');
      return { event: event.replace('event: ', ''), data: JSON.parse(data.replace('data: ', '')) };
    });
}
