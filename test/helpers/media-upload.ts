/** Uploads to `POST /v1/media` with a multipart body written out by hand. */
import { randomUUID } from 'node:crypto';
import type { ApiEnv, Person } from './api-env.js';

export type Part = { name: string; value: string } | { name: string; filename: string; type: string; data: Buffer };

/** A multipart/form-data body, written out by hand so every byte of it is known. */
export function form(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----herald-${randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const file = 'filename' in p;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${file ? `; filename="${p.filename}"` : ''}\r\n` +
          `${file ? `Content-Type: ${p.type}\r\n` : ''}\r\n`,
      ),
      file ? p.data : Buffer.from(p.value),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export const fileField = (data: Buffer, filename = 'upload.bin', type = 'application/octet-stream'): Part => ({
  name: 'file',
  filename,
  type,
  data,
});

export function upload(api: ApiEnv, who: Person, parts: Part[]) {
  const { payload, headers } = form(parts);
  return api.app.inject({ method: 'POST', url: '/v1/media', headers: { ...who.auth, ...headers }, payload });
}
