#!/usr/bin/env node
// Herald's command line. `herald mcp`: the stdio MCP bridge to a Herald (docs/mcp.md).
// TypeScript sources run through tsx, as `npm start` does.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const [command] = process.argv.slice(2);
if (command === 'mcp') {
  const { main } = await import('../server/channels/mcp/cli.ts');
  await main();
} else {
  process.stderr.write('usage: herald mcp   (with HERALD_URL and HERALD_API_KEY set; see docs/mcp.md)\n');
  process.exitCode = 2;
}
