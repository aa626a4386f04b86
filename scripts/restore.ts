/**
 * `npm run restore -- <backup folder> [--force]`: puts a backup made by `npm run backup` back
 * into the Herald this configuration describes (DATA_DIR, DATABASE_URL, CHROMA_URL, S3_*),
 * which must be stopped. It refuses to write over existing data unless --force, and ends by
 * checking that every stored account credential decrypts with the configured keys.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/index.js';
import { restore } from './backup/steps.js';
import { messageOf } from './backup/manifest.js';

const { values, positionals } = parseArgs({
  options: { force: { type: 'boolean', default: false } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  process.stderr.write('usage: npm run restore -- <backup folder> [--force]\n');
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
  await restore(config, positionals[0]!, (line) => process.stderr.write(`restore: ${line}\n`), values.force);
  process.stderr.write('restore: done; start Herald\n');
} catch (err) {
  process.stderr.write(`restore failed: ${messageOf(err)}\n`);
  process.exit(1);
}
