/**
 * Public surface of trends: the niche, collection from the sources, relevance, rising topics,
 * alerts, hashtag suggestions, content ideas.
 */
export {
  getNiche,
  setNiche,
  readNiche,
  NicheInput,
  NICHE_MAX_KEYWORDS,
  NICHE_MAX_INSTANCES,
  NICHE_MAX_SUBREDDITS,
  NICHE_MAX_REGIONS,
  type Niche,
} from './niche.js';
export {
  collectWorkspace,
  collectAndAlert,
  ingestFeedEvent,
  storeItems,
  FEED_SOURCE,
  type TrendsDeps,
  type TrendsHooks,
  type SourceOutcome,
} from './collect.js';
export {
  risingTopics,
  sourceHealth,
  MIN_MENTIONS,
  RISE_RATIO,
  BASELINE_WINDOWS,
  Z_MIN,
  MIN_BASELINE_WINDOWS,
  DEFAULT_WINDOW_HOURS,
  MAX_WINDOW_HOURS,
  SEASONAL_DISCOUNT,
  type RisingTopic,
  type RisingResult,
  type SourceHealth,
  type Evidence,
} from './rising.js';
export { contentIdeas, draftFromIdea, ideasFor, MAX_QUOTE, type ContentIdea } from './ideas.js';
export {
  TrendsQueue,
  startTrendsWorker,
  runTick,
  TRENDS_QUEUE,
  DEFAULT_TRENDS_EVERY_MS,
  type TrendsJobData,
  type TrendsWorker,
} from './queue.js';
export {
  seasonality,
  SEASON_LAG_DAYS,
  SEASON_SLACK_DAYS,
  SEASON_BASELINE_DAYS,
  type Seasonality,
  type LastYear,
} from './seasonal.js';
export { termsOf } from './terms.js';
export {
  adaptPost,
  adaptationResults,
  AdaptInput,
  ADAPT_HISTORY_DAYS,
  BASELINE_MIN_POSTS,
  LIFT_BAND,
  type AdaptDeps,
  type AdaptResult,
  type AdaptSource,
  type Adaptation,
  type AdaptedTarget,
  type Verdict,
} from './adapt.js';
export {
  structureOf,
  skeletonFor,
  type PostStructure,
  type HookKind,
  type PostFormat,
  type CtaKind,
} from './structure.js';
export {
  scoreRelevance,
  isRelevant,
  RELEVANCE_THRESHOLD,
  KEYWORD_WEIGHT,
  SIMILARITY_FLOOR,
  SIMILARITY_CEILING,
  type Relevance,
  type RelevanceWhy,
} from './relevance.js';
export {
  checkAlerts,
  getAlerts,
  setAlertSettings,
  alertWorthy,
  alertText,
  AlertSettingsInput,
  ALERT_MIN_SCORE,
  ALERT_MIN_GROWTH,
  TREND_ALERT_KIND,
  type AlertSettings,
  type SentAlert,
} from './alerts.js';
export { suggestHashtags, HASHTAGS_PER_PLATFORM, type HashtagSuggestion, type HashtagResult } from './hashtags.js';
