/**
 * The MCP server (its tools and resources, and the SDK under them), imported at its first use, an /mcp
 * call or `ragnest mcp`: the SDK is some 9 MiB of heap that a process no agent talks to never needs.
 */
export const loadMcp = () => import('./mcp-server.js');
