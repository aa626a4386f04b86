/**
 * `herald mcp`: a stdio MCP server for desktop clients (Claude Desktop, Cursor) that relays
 * every JSON-RPC message to a Herald's `/mcp` over Streamable HTTP with an API key, and every
 * answer back. It holds no tools of its own, so the desktop client sees exactly the remote
 * server's tools, scopes and errors. A request the remote cannot be reached for (network,
 * 401) is answered with a JSON-RPC error rather than left hanging. Logs go to stderr: stdout
 * belongs to the protocol.
 */
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Readable, Writable } from 'node:stream';
import type { McpClientConfig } from '../../../core/config/mcp-client.js';

/** JSON-RPC code for "the bridge could not reach Herald" (implementation-defined server error range). */
export const UPSTREAM_ERROR = -32001;

export interface StdioBridge {
  closed: Promise<void>;
  close(): Promise<void>;
}

export async function startStdioBridge(
  config: McpClientConfig,
  io: { stdin?: Readable; stdout?: Writable; log?: (line: string) => void } = {},
): Promise<StdioBridge> {
  const log = io.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const remote = new StreamableHTTPClientTransport(config.url, {
    requestInit: { headers: { authorization: `Bearer ${config.apiKey}` } },
  });
  const local = new StdioServerTransport(io.stdin, io.stdout);
  let done!: () => void;
  const closed = new Promise<void>((resolve) => (done = resolve));

  local.onmessage = (message: JSONRPCMessage) => {
    remote.send(message).catch((err: unknown) => {
      const text = err instanceof Error ? err.message : String(err);
      log(`herald mcp: ${text}`);
      if ('method' in message && 'id' in message) {
        void local.send({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: UPSTREAM_ERROR, message: `Herald at ${config.url.origin} refused or failed: ${text}` },
        });
      }
    });
  };
  remote.onmessage = (message) => void local.send(message);
  remote.onerror = (err) => log(`herald mcp: ${err.message}`);
  local.onclose = () => {
    void remote.close().finally(done);
  };
  await remote.start();
  await local.start();
  return {
    closed,
    async close() {
      await local.close();
      await closed;
    },
  };
}
