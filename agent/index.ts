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
export { DbCheckpointSaver, threadKey, WRITE_BEHIND, type DbCheckpointSaverOptions } from './memory/db-saver.js';
export { runOnce, type ActionKey } from './memory/actions.js';
export {
  readTurnSettings,
  SettingsCache,
  SETTINGS_CACHE_DEFAULTS,
  type ChangeSignal,
  type SettingsCacheOptions,
  type TurnSettings,
} from './settings-cache.js';
export { AgentSettingsSchema, AUTOPILOT_TOOLS, autopilotOf, type AgentSettings } from './settings.js';
export { SUMMARY_DEFAULTS, type SummaryOptions } from './graph/state.js';
export {
  groupsOfText,
  selectTools,
  TOOL_MODES,
  TOOL_SELECTION_DEFAULTS,
  type ToolMode,
  type ToolSelection,
  type ToolSelectionOptions,
} from './graph/tool-select.js';
export { CORE_TOOLS, TOOL_GROUPS, type ToolGroup } from './tools/groups.js';
export {
  modelTools,
  runTool,
  SIDE_EFFECT_TOOLS,
  TOOLS,
  type ActionEdit,
  type AgentSession,
  type ProposedAction,
  type ToolEnv,
} from './tools/index.js';
export { findTime, readTime } from './time.js';
export { coachWriter } from './coach-writer.js';
export { draftWriter } from './draft-writer.js';
