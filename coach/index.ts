/**
 * Public surface of the success coach (docs/coach.md): goals with measured baselines,
 * progress and forecasts, weekly plans, the daily message and interventions (on BullMQ),
 * check-ins and the history of what was sent and acted on. Messages leave through
 * tools/notifications; the coach never talks to a channel itself.
 */
export { memberOf, type CoachContext, type CoachDeps, type CoachWriter } from './context.js';
export { METRICS, METRIC_INFO, Metric, measure, type MetricName, type Measured, type SeriesPoint } from './measure.js';
export {
  GoalInput,
  MAX_ACTIVE_GOALS,
  setGoal,
  listGoals,
  dropGoal,
  milestonesOf,
  type Goal,
  type Milestone,
} from './goals.js';
export { forecast, studentTCdf, studentTQuantile, MIN_FORECAST_POINTS, type Forecast, type Point } from './forecast.js';
export { getProgress, goalProgress, type GoalProgress } from './progress.js';
export { drawPlan, type WeeklyPlan } from './plan.js';
export {
  INTERVENTION_KINDS,
  DEFAULT_DAILY_TIME,
  SettingsInput,
  getSettings,
  updateSettings,
  type CoachSettings,
  type InterventionKind,
} from './settings.js';
export { dailyFacts, type DailyFacts, type CoachAction } from './facts.js';
export { dailyFactsBatch, DEFAULT_BATCH_CONCURRENCY } from './facts-batch.js';
export { renderTemplate, promptOf, checkNumbers, splitDrafts, COACH_SYSTEM, type NumberCheck } from './message.js';
export {
  runDaily,
  runDailyBatch,
  DEFAULT_DAILY_CONCURRENCY,
  writeMessage,
  memberContext,
  runIntervention,
  type DailyJob,
  type DailyOutcome,
} from './daily.js';
export {
  detectBlockers,
  detectBlockersBatch,
  blockersFrom,
  lastNudges,
  pickIntervention,
  COOL_DOWN_DAYS,
  type Blocker,
  type BlockerInput,
} from './interventions.js';
export {
  CoachQueue,
  COACH_QUEUE,
  DAILY_BATCH_SIZE,
  summarize,
  type DailyBatchSummary,
  DEFAULT_TICK_EVERY_MS,
  LATE_MS,
  LOOKAHEAD_MS,
  coachMembers,
  dueMessages,
  runTick,
  startCoachWorker,
  type CoachJobData,
  type CoachMember,
  type CoachQueueOptions,
  type CoachWorkerOptions,
} from './queue.js';
export { coachHistory, acceptAction, findAction, AcceptInput, type History, type HistoryItem } from './history.js';
export { coachCheckin, type CheckIn } from './checkin.js';
