/** Entry of `herald mcp`: reads HERALD_URL and HERALD_API_KEY (core/config) and runs the stdio bridge until stdin ends. */
import { loadMcpClientConfig } from '../../../core/config/mcp-client.js';
import { startStdioBridge } from './stdio.js';

export async function main(): Promise<void> {
  let config;
  try {
    config = loadMcpClientConfig();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const bridge = await startStdioBridge(config);
  process.stdin.on('end', () => void bridge.close());
  await bridge.closed;
}
