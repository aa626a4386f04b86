/** Public surface of drafting: drafts from an idea (in the brand's voice), revisions, and accounts as people name them. */
export {
  draftPost,
  reviseDraft,
  type DraftingDeps,
  type DraftInput,
  type DraftOptions,
  type DraftResult,
  type TextWriter,
} from './service.js';
export { resolveAccounts, workspaceAccounts, label, type AccountRef } from './accounts.js';
