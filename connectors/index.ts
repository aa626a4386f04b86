/** Public surface of `connectors/`: the contract, typed errors, shared validation, the registry. */
export type * from './contract.js';
export * from './errors.js';
export { AttemptSuperseded, checkFence, supersededIn, withFence } from './fence.js';
export { countGraphemes, textLength, validateAgainstCapabilities, formatBytes } from './text-length.js';
export { ConnectorRegistry } from './registry.js';
export type * from './connect.js';
