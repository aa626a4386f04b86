/**
 * `npm run backup -- [--out DIR] [--keep N]`: writes `DIR/herald-<UTC time>/` (default DIR
 * `./backups`) holding the database, the media, the key file and the knowledge base, then
 * prints its path. With --keep, older backups in DIR beyond the N newest are removed.
 * Configuration comes from the environment and `.env` as for `npm start`. See docs/deploy.md.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/index.js';
import { backup } from './backup/steps.js';
import { messageOf } from './backup/manifest.js';

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'backups' }, keep: { type: 'string' } },
  allowPositionals: false,
});
const keep = values.keep === undefined ? undefined : Number(values.keep);
if (keep !== undefined && !(Number.isInteger(keep) && keep > 0)) {
  process.stderr.write('--keep expects a positive whole number of backups\n');
  process.exit(64);
}

let config;
try {
  config = loadConfig();
} catch (err) {
  process.stderr.write(`${messageOf(err)}\nSee README.md, "Configuration".\n`);
  process.exit(78);
}
try {
  const dir = await backup(config, values.out, (line) => process.stderr.write(`backup: ${line}\n`), keep);
  process.stdout.write(`${dir}\n`);
} catch (err) {
  process.stderr.write(`backup failed: ${messageOf(err)}\n`);
  process.exit(1);
}
