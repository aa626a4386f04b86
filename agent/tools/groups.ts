/**
 * The agent's tools in groups, as data: what each group is for, its tools, and the words in a
 * user's message that say a turn plausibly needs it. Tool selection (`agent/graph/tool-select.ts`)
 * binds the core tools plus the groups a turn points at; `more_tools` lists the groups and adds
 * any of them on the model's next step, so no tool is out of reach. A tool may sit in more than
 * one group; every tool sits in at least one (a test keeps it so).
 */

export interface ToolGroup {
  readonly name: string;
  /** One line for `more_tools` and the system prompt. */
  readonly summary: string;
  readonly tools: readonly string[];
  /**
   * Words and phrases (regular expression sources, matched case-blind on word boundaries). A
   * group's weight for a message is the number of words its matches span, so "every Monday"
   * (series) outweighs "post" (posts).
   */
  readonly keywords: readonly string[];
}

/** Bound on every turn: small, and the way to everything else. */
export const CORE_TOOLS: readonly string[] = ['list_accounts', 'more_tools'];

/** Bound when the message points at no group: Herald is for posting first. */
export const DEFAULT_GROUP = 'posts';

const WEEKDAY = '(?:mon|tues|wednes|thurs|fri|satur|sun)day';

export const TOOL_GROUPS: readonly ToolGroup[] = [
  {
    name: 'posts',
    summary: 'draft, schedule, publish, queue, list, reschedule and cancel posts',
    tools: [
      'draft_post',
      'revise_draft',
      'schedule_post',
      'publish_now',
      'add_to_queue',
      'list_scheduled',
      'get_post_status',
      'reschedule',
      'cancel',
    ],
    keywords: [
      'posts?',
      'posting',
      'posted',
      'schedul\\w*',
      'publish\\w*',
      'drafts?',
      'tweet\\w*',
      'toots?',
      'threads?',
      'queue\\w*',
      'cancel\\w*',
      'move',
      'postpone',
      'delay',
      'write',
      'compose',
      'announce\\w*',
      'caption',
      'revis\\w*',
      'rewrite',
      'reword',
      'shorter',
      'longer',
      'planned',
      'upcoming',
      'calendar',
      'status',
      'tomorrow',
      'tonight',
      'next week',
      `(?:on|this|next) ${WEEKDAY}`,
      'go(?:es)? out',
    ],
  },
  {
    name: 'analytics',
    summary: 'stats, engagement, top posts, best times, weekly report, what works',
    tools: [
      'get_analytics',
      'get_top_posts',
      'get_post_analytics',
      'get_account_analytics',
      'get_daily_analytics',
      'get_best_times',
      'suggest_slots',
      'get_what_works',
      'get_weekly_report',
      'set_weekly_report',
      'suggest_time',
    ],
    keywords: [
      'analytics?',
      'stats?',
      'statistics',
      'metrics?',
      'engagement',
      'impressions?',
      'reach',
      'views',
      'likes',
      'perform\\w*',
      'report\\w*',
      'insights?',
      'results?',
      'numbers',
      'growth',
      'best (?:time|hour|day)s?',
      'top posts?',
      'what works',
      'worked',
      'last (?:week|month|\\d+ days)',
      'past (?:week|month|\\d+ days)',
      'how (?:did|do|does|is|are|was|were)\\b.*\\b(?:go|going|do|doing|went|perform\\w*)',
    ],
  },
  {
    name: 'slots',
    summary: "an account's weekly posting slots (the queue's times)",
    tools: ['get_slots', 'set_slots', 'suggest_slots', 'add_to_queue'],
    keywords: ['slots?', 'queue\\w*', 'posting (?:times?|schedule)', 'cadence', 'when (?:do|should) (?:i|we) post'],
  },
  {
    name: 'series',
    summary: 'recurring posts: create, list, edit, pause, resume, stop',
    tools: ['list_series', 'create_series', 'edit_series', 'pause_series', 'resume_series', 'stop_series'],
    keywords: [
      'series',
      'recurr\\w*',
      'repeat\\w*',
      'every (?:day|week|month|morning|evening|night|' + WEEKDAY + ')',
      `each ${WEEKDAY}`,
      `${WEEKDAY}s`,
      'daily',
      'weekly',
      'monthly',
    ],
  },
  {
    name: 'import',
    summary: 'check and import posts from CSV text',
    tools: ['check_csv', 'import_csv'],
    keywords: ['csv', 'import\\w*', 'spreadsheet', 'bulk', 'rows?'],
  },
  {
    name: 'accounts',
    summary: 'connected social accounts; connect Bluesky',
    tools: ['list_accounts', 'connect_bluesky'],
    keywords: [
      'accounts?',
      'connect\\w*',
      'bluesky',
      'bsky',
      'app password',
      'handle',
      'sign in',
      'log ?in',
      'platforms?',
    ],
  },
  {
    name: 'media',
    summary: 'add an image or video from a URL to the media library (for posts)',
    tools: ['upload_media_from_url'],
    keywords: ['images?', 'photos?', 'pictures?', 'videos?', 'media', 'upload\\w*', 'gif', 'jpe?g', 'png', 'mp4'],
  },
  {
    name: 'knowledge',
    summary: 'search the knowledge base (brand voice, past posts, notes); read a source whole; remember a note',
    tools: ['search_knowledge', 'read_source', 'remember'],
    keywords: [
      'remember',
      'knowledge',
      'notes?',
      'brand',
      'voice',
      'style',
      'guidelines?',
      'documents?',
      'docs?',
      'search',
      'look up',
      'recall',
      'sources?',
      'what do (?:we|you) know',
    ],
  },
  {
    name: 'trends',
    summary: 'rising topics in the niche, ideas from them, hashtags, trend alerts, adapting posts that worked',
    tools: [
      'get_trend_niche',
      'set_trend_niche',
      'research_trends',
      'trend_ideas',
      'draft_trend_idea',
      'suggest_hashtags',
      'trend_alerts',
      'mute_trend_alerts',
      'adapt_post',
      'adapted_results',
    ],
    keywords: [
      'trend\\w*',
      'rising',
      'viral',
      'adapt\\w*',
      'hashtags?',
      'niche',
      'topics?',
      'ideas?',
      'inspiration',
      'buzz',
      'alerts?',
      'mute',
      'news',
      "what(?:'s| is) hot",
    ],
  },
  {
    name: 'campaigns',
    summary: 'affiliate products and campaigns: add, plan, approve, pause/end, report, content',
    tools: [
      'add_product',
      'list_products',
      'create_campaign',
      'approve_campaign',
      'set_campaign_status',
      'campaign_report',
      'generate_campaign_content',
    ],
    keywords: [
      'campaigns?',
      'affiliates?',
      'products?',
      'commissions?',
      'conversions?',
      'revenue',
      'earn\\w*',
      'promot\\w*',
      'programs?',
      'offers?',
      'deals?',
      'sponsor\\w*',
    ],
  },
  {
    name: 'links',
    summary: 'tracked short links and their clicks',
    tools: ['create_tracked_link', 'link_stats'],
    keywords: ['links?', 'urls?', 'utm', 'clicks?', 'track\\w*', 'redirect\\w*'],
  },
  {
    name: 'coach',
    summary: 'goals, progress, coaching check-ins and settings, accept a suggested action',
    tools: ['set_goal', 'get_progress', 'coach_checkin', 'set_coach_settings', 'accept_coach_action'],
    keywords: [
      'goals?',
      'coach\\w*',
      'progress',
      'milestones?',
      'check[- ]?in',
      'motivat\\w*',
      'habits?',
      'streaks?',
      'on track',
      'followers',
    ],
  },
  {
    name: 'channels',
    summary: 'link a Telegram chat or Slack user; choose where each kind of notification goes',
    tools: ['create_chat_link_code', 'notification_settings'],
    keywords: ['slack', 'telegram', 'chat', 'bot', 'link code', 'notif\\w*', 'alerts?', 'remind\\w*'],
  },
];

export const GROUP_NAMES = TOOL_GROUPS.map((g) => g.name) as [string, ...string[]];
