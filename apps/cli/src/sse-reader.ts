/**
 * Owns reading a server-sent event stream into its events, as the WHATWG rules frame them: lines
 * `event:` and `data:` (several data lines joined by "\n"), a blank line ending each event, comments
 * (lines starting with ":") ignored. (eventsource-parser would do, but its package resolves to its
 * TypeScript sources under this project's `source` import condition, which our tsc settings refuse.)
 */
export interface ServerSentEvent {
  event: string;
  data: string;
}

export async function* readEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const lines = async function* () {
    for await (const part of body) {
      buffer += decoder.decode(part, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r\n|\r|\n/)) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
        yield line;
      }
    }
    buffer += decoder.decode();
    if (buffer !== '') yield buffer;
    yield '';
  };
  for await (const line of lines()) {
    if (line === '') {
      if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
      event = '';
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
}
