/** Public surface of analytics: metrics collection, the queries every channel reads, suggested times. */
export {
  publishingStats,
  statsText,
  suggestTimes,
  NO_METRICS,
  HISTORY_DAYS,
  type PublishingStats,
  type Suggestion,
} from './service.js';
export {
  collectTargetMetrics,
  collectAccountStats,
  DEFAULT_STAGES,
  type CollectDeps,
  type CollectOutcome,
  type MeasuredPost,
} from './collect.js';
export {
  MetricsQueue,
  METRICS_QUEUE,
  runDaily,
  runReportTick,
  startMetricsWorker,
  DEFAULT_DAILY_EVERY_MS,
  type MetricsJobData,
  type MetricsQueueOptions,
  type MetricsWorkerOptions,
} from './metrics-queue.js';
export {
  overview,
  dailySeries,
  rankedPosts,
  postAnalytics,
  accountAnalytics,
  MAX_RANGE_DAYS,
  type AnalyticsDeps,
  type Overview,
  type Figures,
  type PostFigures,
  type Range,
} from './queries.js';
export { PERIODS, DEFAULT_PERIOD, periodRange, resolveRange, type PeriodName } from './periods.js';
export { PLATFORM_REPORTS, notReported, type PlatformReport } from './platforms.js';
export {
  bestTimes,
  suggestSlots,
  MAX_SUGGESTED_SLOTS,
  estimateHours,
  platformPrior,
  confidenceOf,
  BEST_TIME_HISTORY_DAYS,
  CONFIDENCE_POSTS,
  type BestTimes,
  type BestHour,
  type SlotSuggestion,
  type SuggestedSlot,
  type Confidence,
} from './best-time.js';
export {
  whatWorks,
  compareFeatures,
  topFlags,
  WHAT_WORKS_DAYS,
  MIN_TOP_POSTS,
  TOP_SHARE,
  type WhatWorks,
  type Finding,
  type Certainty,
} from './what-works.js';
export { weeklyReport, REPORT_CHARTS, type WeeklyReport, type ReportChart } from './report.js';
export { lineChart, pairedBarChart } from './charts.js';
export {
  getReportSettings,
  updateReportSettings,
  reportRecipients,
  dueReports,
  deliverWeeklyReport,
  ReportSettingsInput,
  WEEKLY_REPORT_KIND,
  WEEKLY_REPORT_TIME,
  WEEKLY_REPORT_WEEKDAY,
  REPORT_TICK_EVERY_MS,
  type ReportSettings,
  type ReportDeliveryDeps,
  type ReportRecipient,
  type ReportDelivery,
  type WeeklyReportJob,
} from './report-delivery.js';
export { figuresBatch, overviewBatch, dailySeriesBatch, audienceBatch, type BatchItem } from './batch.js';
