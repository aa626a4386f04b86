/** Public surface of media: what REST, WebSocket, bots and the agent call. */
export { type MediaDeps, type MediaContext } from './context.js';
export {
  uploadMedia,
  getMediaRecord,
  listMediaRecords,
  updateMediaAltText,
  deleteMediaRecord,
  openMediaContent,
  viewOf,
  ALT_TEXT_MAX,
  type MediaView,
  type UploadInput,
} from './service.js';
export { stageUpload, type StagedUpload } from './staging.js';
export { uploadMediaFromUrl, MEDIA_FETCH_TIMEOUT_MS, type FromUrlInput } from './from-url.js';
export { ACCEPTED_FORMATS, ACCEPTED_MIME_TYPES, type MediaFormat } from './formats.js';
export { MAX_IMAGE_EDGE, MAX_INPUT_PIXELS, IMAGE_QUALITY } from './image.js';
export { PUBLISHABLE_STATUSES } from './records.js';
