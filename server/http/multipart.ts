/**
 * @fastify/multipart's and busboy's errors, in the catalogue's terms, for every upload route
 * (media, knowledge). Each route says what "too large" means for it.
 */
import { HeraldError, isHeraldError } from '../../core/index.js';

export function multipartError(err: unknown, tooLarge: () => HeraldError): unknown {
  if (isHeraldError(err)) return err;
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge();
    case 'FST_FILES_LIMIT':
      return new HeraldError('validation_failed', { message: 'Send one file per request, in the "file" field' });
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new HeraldError('validation_failed', { message: 'The form has more fields than an upload takes' });
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new HeraldError('unsupported_media_type');
  }
  if (err instanceof Error && !code) {
    // busboy's own parse errors ("Unexpected end of form", "Malformed part header"...).
    return new HeraldError('validation_failed', { message: `The multipart body cannot be read: ${err.message}` });
  }
  return err;
}
