/** Public surface of posts: what REST, WebSocket and the agent call to edit posts. */
export {
  createPost,
  getPostView,
  listPosts,
  updatePost,
  getTargetView,
  updateTarget,
  deletePost,
  schedulePostDraft,
  EDITABLE,
  type PostsContext,
  type PostView,
  type TargetView,
  type CreatePostInput,
  type TargetVariantInput,
} from './service.js';
export { approvePost, rejectPost, listApprovals } from './approvals.js';
export { calendar } from './calendar.js';
export { queuePostDraft } from './queue.js';
export { cancelTarget } from './target-actions.js';
