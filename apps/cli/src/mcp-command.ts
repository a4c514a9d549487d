import { type Command, Option } from 'commander';

/**
 * `ragnest mcp`: ragnest's MCP server over stdio, for hosts that start their servers as commands (Claude
 * Desktop, Claude Code, Cursor). With `--url` it relays every message to a running ragnest's `/mcp`
 * (the same tools, under that server's keys and scopes); without, it hosts the contexts itself on this
 * machine's configuration, like `ragnest serve` but with stdio in place of HTTP. Stdout carries the
 * protocol only: anything else this process prints goes to stderr.
 */
export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description(
      'serve MCP over stdio: relay to a running ragnest (--url) or host the contexts in this process (DATABASE_URL / DATA_DIR)',
    )
    // --url / RAGNEST_URL is the program's own option (every command that can talk to a server reads it).
    .addOption(
      new Option('--key <key>', 'API key sent as Authorization: Bearer (with --url)').env('RAGNEST_API_KEY'),
    )
    .action(async function (this: Command) {
      const { url, key } = this.optsWithGlobals<{ url?: string; key?: string }>();
      // Stdout is the protocol's: a stray console.log from any library would corrupt it.
      console.log = console.info = console.debug = console.error;
      // The MCP SDK is imported only for this command (see loadMcp).
      const { host, relay } = await import('./mcp-stdio.js');
      if (url) await relay(mcpEndpoint(url), key);
      else await host();
    });
}

/** `<url>/mcp`, whatever path the server is mounted under. */
export function mcpEndpoint(url: string): URL {
  let base: URL;
  try {
    base = new URL(url.endsWith('/') ? url : `${url}/`);
  } catch {
    throw new Error(`--url: "${url}" is not a URL (e.g. http://localhost:3000)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new Error(`--url: "${url}" is not an http(s) URL`);
  return new URL('mcp', base);
}
