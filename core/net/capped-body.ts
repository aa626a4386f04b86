/**
 * Reading a response body without trusting its size: the declared `Content-Length` is checked
 * first, then the bytes are counted as they stream in, and the read stops (the rest cancelled)
 * the moment they pass the limit — so a host cannot make Herald buffer more than `maxBytes`.
 */
export type CappedBody = { ok: true; body: Buffer } | { ok: false; bytes: number };

/** The whole body when it is at most `maxBytes`; else how many bytes were declared or seen when it stopped. */
export async function readBodyCapped(res: Response, maxBytes: number): Promise<CappedBody> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return { ok: false, bytes: declared };
  }
  const reader = res.body?.getReader();
  if (!reader) return { ok: true, body: Buffer.alloc(0) };
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, bytes: size };
    }
    parts.push(value);
  }
  return { ok: true, body: Buffer.concat(parts) };
}
