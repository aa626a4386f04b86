/** Public surface of analytics: publishing counts and suggested times, for every channel. */
export {
  publishingStats,
  statsText,
  suggestTimes,
  NO_METRICS,
  HISTORY_DAYS,
  type PublishingStats,
  type Suggestion,
} from './service.js';
