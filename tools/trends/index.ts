/** Public surface of trends: the niche, collection from the sources, rising topics, content ideas. */
export {
  getNiche,
  setNiche,
  readNiche,
  NicheInput,
  NICHE_MAX_KEYWORDS,
  NICHE_MAX_INSTANCES,
  type Niche,
} from './niche.js';
export {
  collectWorkspace,
  ingestFeedEvent,
  storeItems,
  FEED_SOURCE,
  type TrendsDeps,
  type SourceOutcome,
} from './collect.js';
export {
  risingTopics,
  sourceHealth,
  MIN_MENTIONS,
  RISE_RATIO,
  DEFAULT_WINDOW_HOURS,
  MAX_WINDOW_HOURS,
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
export { termsOf } from './terms.js';
