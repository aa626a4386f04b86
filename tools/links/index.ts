/** Public surface of tracked links: the service, the redirect's click recorder and the drainer. */
export {
  createTrackedLink,
  attachLinkToPost,
  getTrackedLink,
  listTrackedLinks,
  resolveClickContext,
  type LinksDeps,
  type CreateLinkInput,
  type TrackedLink,
  type ClickContext,
  type ListLinksFilter,
} from './service.js';
export { linkStats, MAX_STATS_DAYS, type ClickTotals, type LinkStats, type LinkStatsQuery } from './stats.js';
export { shortUrlOf, MAX_LINKS_PER_CALL } from './input.js';
export {
  validateDestination,
  cleanUtm,
  withUtm,
  MAX_DESTINATION_LENGTH,
  MAX_UTM_LENGTH,
  type Utm,
} from './destination.js';
export { newCode, CODE_LENGTH, CODE_PATTERN } from './codes.js';
export {
  LinkRedirector,
  ClickPastDeadline,
  DEFAULT_REDIS_WAIT_MS,
  isBotRequest,
  platformOfReferrer,
  DEFAULT_LINK_CACHE_SIZE,
  UNKNOWN_CODE_TTL_MS,
  type ClickRequest,
  type ClickEvent,
  type ResolvedLink,
  type LinkRedirectorOptions,
} from './clicks.js';
export { clickStreamKey, clickLine, parseClickLine, parseClickEntry, CLICKS_PER_ENTRY } from './stream.js';
export { ClickJournal, type ClickJournalOptions } from './journal.js';
export {
  ClickDrainer,
  writeClicks,
  DRAIN_GROUP,
  DEFAULT_UNIQUE_WINDOW_MS,
  DEFAULT_DRAIN_BATCH,
  DEFAULT_CLAIM_IDLE_MS,
  DEFAULT_DRAIN_LINGER_MS,
  MAX_ENTRIES_PER_READ,
  startClickDrainer,
  type ClickDrainerOptions,
  type StartClickDrainerOptions,
} from './drain.js';
