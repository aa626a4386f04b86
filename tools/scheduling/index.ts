/** Public surface of scheduling: the service functions every channel calls. */
export { type SchedulingDeps, type ServiceContext } from './context.js';
export {
  schedulePost,
  publishNow,
  reschedule,
  cancel,
  listScheduled,
  getPostStatus,
  PAST_GRACE_MS,
  type ScheduleInput,
  type TargetInput,
  type ScheduledTarget,
} from './service.js';
export {
  setSlots,
  listSlots,
  nextFreeSlot,
  addToQueue,
  slotInstants,
  type SlotInput,
  type PostingSlot,
} from './slots.js';
export {
  createSeries,
  materializeSeries,
  materializeAllSeries,
  stopSeries,
  occurrences,
  parseRule,
  RECURRENCE_HORIZON_DAYS,
  type SeriesInput,
  type Series,
} from './recurrence.js';
export { importCsv, CSV_MAX_BYTES, CSV_MAX_ROWS, type ImportReport } from './csv-import.js';
export { parseUserTime, showInZone, assertTimeZone } from './time.js';
export { checkTargets, type TargetProblem } from './validation.js';
