/** Public surface of `tools/channels`: linking messaging-platform chats to Herald members. */
export {
  CHANNELS,
  LINK_CODE_TTL_MS,
  createLinkCode,
  linkedMember,
  linksOfMember,
  redeemLinkCode,
  unlinkChannel,
  type ChannelName,
  type LinkContext,
  type LinkDeps,
  type LinkedMember,
} from './links.js';
