/**
 * The zero-configuration key ring: when ENCRYPTION_KEYS is unset, a 32-byte key is generated
 * once into `DATA_DIR/keys.json` (mode 0600) and reused on every start. Losing that file loses
 * every stored platform token, so the start-up log names it and the README says to back it up.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SecretCipher } from './secret-cipher.js';

interface KeyFile {
  activeKeyId: string;
  keys: Record<string, string>;
}

export async function loadOrCreateKeyFile(
  dataDir: string,
): Promise<{ cipher: SecretCipher; file: string; created: boolean }> {
  const file = path.join(dataDir, 'keys.json');
  let content: KeyFile;
  let created = false;
  try {
    content = JSON.parse(await readFile(file, 'utf8')) as KeyFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read encryption key file ${file}: ${(err as Error).message}`, { cause: err });
    }
    const keyId = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
    content = { activeKeyId: keyId, keys: { [keyId]: randomBytes(32).toString('base64') } };
    await mkdir(dataDir, { recursive: true });
    // 'wx' fails if another process created the file in the meantime: never overwrite a key.
    try {
      await writeFile(file, JSON.stringify(content, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== 'EEXIST') throw writeErr;
      content = JSON.parse(await readFile(file, 'utf8')) as KeyFile;
    }
  }
  const keys = new Map(Object.entries(content.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')]));
  return { cipher: new SecretCipher(keys, content.activeKeyId), file, created };
}
