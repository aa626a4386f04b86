/** Public surface of publishing: the queue, the worker, the reconciler. */
export {
  PublishQueue,
  PUBLISH_QUEUE,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_BACKOFF_MS,
  type PublishJobData,
  type PublishQueueOptions,
} from './queue.js';
export { startPublishWorker, DEFAULT_PUBLISH_CONCURRENCY, type PublishWorkerOptions } from './worker.js';
export { publishTarget, type Outcome } from './publish-target.js';
export { reconcile, type ReconcileOptions, type ReconcileReport } from './reconciler.js';
export { AccountGate } from './account-gate.js';
export { type PublishWorkerDeps } from './worker-deps.js';
export { startMaintenance, MAINTENANCE_QUEUE, type MaintenanceOptions } from './maintenance.js';
