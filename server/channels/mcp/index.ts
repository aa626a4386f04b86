/**
 * Herald as an MCP server over Streamable HTTP at `/mcp` (docs/mcp.md). Stateless: every
 * POST gets its own MCP server and transport, built for the caller the request's credentials
 * name (an `hk_` API key or an access token), so any API process answers any request without
 * sticky routing or session state to share. Without sessions there is no server-to-client
 * stream, so GET and DELETE are 405 and answers are plain JSON.
 *
 * Malformed input never reaches a handler as an exception: the body is parsed here, and bad
 * JSON or a bad JSON-RPC message is answered with a JSON-RPC error.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { contextOf } from '../../http/context.js';
import { registerTools, serviceContextOf, type McpToolDeps } from './tools.js';

export { registerTools, toolError, type McpToolDeps } from './tools.js';

export const MCP_PATH = '/mcp';
export const MCP_SERVER_NAME = 'herald';

/** JSON-RPC error codes the transport level answers with. */
const PARSE_ERROR = -32700;
const ACCEPT_BOTH = 'application/json, text/event-stream';

function rpcError(reply: FastifyReply, status: number, code: number, message: string) {
  return reply
    .status(status)
    .type('application/json; charset=utf-8')
    .send({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * The spec asks clients to accept both JSON and SSE; some send neither. We answer in JSON
 * anyway, so the header is completed before the transport (which would refuse with 406) sees it.
 * The SDK rebuilds headers from `rawHeaders`, so both are set.
 */
function completeAccept(request: FastifyRequest): void {
  const accept = request.headers.accept ?? '';
  if (accept.includes('application/json') && accept.includes('text/event-stream')) return;
  request.raw.headers.accept = ACCEPT_BOTH;
  const raw = request.raw.rawHeaders;
  const i = raw.findIndex((h, n) => n % 2 === 0 && h.toLowerCase() === 'accept');
  if (i >= 0) raw[i + 1] = ACCEPT_BOTH;
  else raw.push('Accept', ACCEPT_BOTH);
}

export async function mcpPlugin(app: FastifyInstance, opts: { deps: McpToolDeps; version: string }): Promise<void> {
  // Bodies are taken as text and parsed here, so bad JSON is a JSON-RPC parse error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', app.authenticate);

  app.post(MCP_PATH, { schema: { hide: true } }, async (request, reply) => {
    let message: unknown;
    try {
      message = JSON.parse(typeof request.body === 'string' ? request.body : '');
    } catch {
      return rpcError(reply, 400, PARSE_ERROR, 'Parse error: the body is not JSON');
    }
    const ctx = serviceContextOf(contextOf(request, 'viewer', 'mcp'));
    const server = new McpServer(
      { name: MCP_SERVER_NAME, version: opts.version },
      { instructions: 'Herald schedules and publishes social-media posts. Times are read in your time zone.' },
    );
    registerTools(server, opts.deps, ctx, request.log, request.principal ?? undefined);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    completeAccept(request);
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, message);
    } catch (err) {
      request.log.error({ err }, 'mcp request failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
      }
    }
  });

  // Stateless: no session to stream to or to end.
  const notAllowed = (_req: FastifyRequest, reply: FastifyReply) =>
    rpcError(reply.header('allow', 'POST'), 405, -32000, 'Method not allowed: this server is stateless; POST only');
  app.get(MCP_PATH, { schema: { hide: true } }, notAllowed);
  app.delete(MCP_PATH, { schema: { hide: true } }, notAllowed);
}
