import { Controller, Delete, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Principal } from '#contracts';
import { RagOperations } from '../../application/rag-operations/rag-operations.js';
import { loadMcp } from './load-mcp.js';

/**
 * The MCP server over streamable HTTP at `/mcp`, stateless: each POST is answered by a server made for
 * that request, with the request's caller (its id, and the principal the auth guard put on it), so any
 * gateway replica can answer any call and a key's scopes apply to every tool call as to a REST request.
 * Being a Nest controller, it sits behind the same middleware, guards and body limits as the REST API.
 * The MCP SDK is imported at the first call (loadMcp).
 */
@Controller('mcp')
export class McpHttpController {
  constructor(private readonly ops: RagOperations) {}

  @Post()
  async post(
    @Req() req: Request & { requestId?: string; principal?: Principal },
    @Res() res: Response,
  ): Promise<void> {
    const [{ createMcpServer }, { StreamableHTTPServerTransport }] = await Promise.all([
      loadMcp(),
      import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    ]);
    const server = createMcpServer(this.ops, { requestId: req.requestId ?? '', principal: req.principal });
    // JSON replies rather than an SSE stream per call: no tool sends progress, and plain JSON passes
    // every proxy.
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  }

  /** No sessions, so no server-initiated stream (GET) and nothing to end (DELETE): 405, as the spec allows. */
  @Get()
  get(@Res() res: Response): void {
    methodNotAllowed(res);
  }

  @Delete()
  delete(@Res() res: Response): void {
    methodNotAllowed(res);
  }
}

function methodNotAllowed(res: Response): void {
  res
    .status(405)
    .setHeader('Allow', 'POST')
    .json({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this MCP server is stateless; POST only' },
      id: null,
    });
}
