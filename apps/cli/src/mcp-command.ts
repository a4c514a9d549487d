import { type Command, Option } from 'commander';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  isInitializeRequest,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '#platform';
import { createMcpServer, RagOperations } from '#gateway';
import { createApp } from '#app';

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

/** The contexts in this process, their use cases behind the MCP server (no HTTP listener). */
async function host(): Promise<void> {
  const app = await createApp({ ...loadConfig(), logLevel: 'error' }, { logs: false });
  const server = createMcpServer(app.get(RagOperations), { requestId: 'mcp-stdio' });
  const transport = new StdioServerTransport();
  await server.connect(transport);
  await new Promise<void>((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  await server.close();
  await app.close();
}

/**
 * Every message from the host goes to the server as it is, every reply comes back: a transport-level
 * relay, so the tools, their schemas and their errors are the server's own. A request the server cannot
 * be reached for (down, or refusing the key) is answered with a JSON-RPC error that says so.
 */
async function relay(endpoint: URL, key: string | undefined): Promise<void> {
  const remote = new StreamableHTTPClientTransport(endpoint, {
    requestInit: key ? { headers: { Authorization: `Bearer ${key}` } } : undefined,
  });
  const local = new StdioServerTransport();
  const initializing = new Set<RequestId>();

  local.onmessage = (message: JSONRPCMessage) => {
    if (isInitializeRequest(message) && isJSONRPCRequest(message)) initializing.add(message.id);
    remote.send(message).catch((error: Error) => {
      if (isJSONRPCRequest(message))
        void local.send({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: -32603, message: `ragnest at ${endpoint.href}: ${error.message}` },
        });
      else console.error(`ragnest mcp: ${endpoint.href}: ${error.message}`);
    });
  };
  remote.onmessage = (message: JSONRPCMessage) => {
    // Later requests carry the negotiated version in their MCP-Protocol-Version header.
    if (isJSONRPCResultResponse(message) && initializing.delete(message.id)) {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') remote.setProtocolVersion(version);
    }
    void local.send(message);
  };
  remote.onerror = (error) => console.error(`ragnest mcp: ${error.message}`);

  await remote.start();
  await local.start();
  await new Promise<void>((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  await local.close();
  await remote.close();
}
