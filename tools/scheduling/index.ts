/** Public surface of scheduling: the service functions every channel calls. */
export { type SchedulingDeps, type ServiceContext } from './context.js';
export {
  schedulePost,
  publishNow,
  reschedule,
  cancel,
  listScheduled,
  getPostStatus,
  getScheduledTarget,
  PAST_GRACE_MS,
  requireDirectScheduling,
  insertScheduled,
  announceScheduled,
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
  withQueueLocks,
  MAX_SLOTS_PER_ACCOUNT,
  QUEUE_HORIZON_DAYS,
  type SlotInput,
  type PostingSlot,
} from './slots.js';
export {
  createSeries,
  materializeSeries,
  materializeAllSeries,
  occurrences,
  parseRule,
  RECURRENCE_HORIZON_DAYS,
  type SeriesInput,
  type Series,
} from './recurrence.js';
export {
  listSeries,
  getSeries,
  pauseSeries,
  resumeSeries,
  stopSeries,
  updateSeries,
  SERIES_PREVIEW,
  type SeriesStatus,
  type SeriesView,
} from './series.js';
export {
  importCsv,
  CSV_MAX_BYTES,
  CSV_MAX_ROWS,
  type CsvColumn,
  type ImportReport,
  type RowProblem,
} from './csv-import.js';
export { parseUserTime, showInZone, showTime, assertTimeZone } from './time.js';
export { checkTargets, addTargetCheck, type TargetCheck, type TargetProblem } from './validation.js';
