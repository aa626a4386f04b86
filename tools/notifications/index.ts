/**
 * Public surface of notifications: messages pushed to a member outside a chat turn, stored
 * once and delivered live over the WebSocket (any API node, through Redis) and by any
 * deliverer a channel adds (`Notifier.addDeliverer`).
 */
export {
  Notifier,
  WebSocketDeliverer,
  listNotifications,
  markRead,
  type Deliverer,
  type Notification,
  type NotificationsContext,
  type NotifierDeps,
  type SendInput,
  type SendResult,
} from './service.js';
export {
  listNotificationPrefs,
  setNotificationPref,
  NOTIFICATION_CHANNELS,
  NOTIFICATION_KINDS,
  QUIET_KINDS,
  type KindPreference,
  type NotificationChannel,
  type PrefsContext,
} from './prefs.js';
export { notifyPublishingOutcomes } from './publishing.js';
