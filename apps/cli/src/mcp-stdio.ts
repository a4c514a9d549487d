/** `ragnest mcp`'s two ways of serving MCP over stdio (mcp-command.ts): hosting the contexts, or relaying. */
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
import { loadMcp, RagOperations } from '#gateway';
import { createApp } from '#app';

/** The contexts in this process, their use cases behind the MCP server (no HTTP listener). */
export async function host(): Promise<void> {
  const app = await createApp({ ...loadConfig(), logLevel: 'error' }, { logs: false });
  const { createMcpServer } = await loadMcp();
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
export async function relay(endpoint: URL, key: string | undefined): Promise<void> {
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
