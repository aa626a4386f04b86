/**
 * Public surface of the agent: the chat handler every channel drives, the graph, the
 * checkpointer on Herald's database, and the tools. The model layer has its own surface in
 * `agent/models/index.ts`.
 */
export {
  AgentChatHandler,
  type AgentDecision,
  type AgentOptions,
  type AgentSink,
  type AgentTurn,
} from './chat-handler.js';
export { buildAgentGraph, type AgentGraph } from './graph/graph.js';
export { fastPath, type FastResult } from './graph/fast-path.js';
export { DbCheckpointSaver, threadKey } from './memory/db-saver.js';
export { modelTools, runTool, TOOLS, type ActionEdit, type AgentSession, type ProposedAction } from './tools/index.js';
export { findTime, readTime } from './time.js';
