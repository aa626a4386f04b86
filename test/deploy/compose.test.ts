/**
 * docker-compose.yml, Dockerfile and .env.example read as Docker would, without Docker (it
 * cannot run here): the compose file is parsed with `yaml`, `${...}` filled in as Compose's
 * interpolation does (https://docs.docker.com/reference/compose-file/interpolation/), and
 * each service's environment built as Compose builds it (`environment:` over `env_file:`,
 * https://docs.docker.com/compose/how-tos/environment-variables/envvars-precedence/).
 */
import { readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { isSecret, loadConfig, VARIABLES } from '../../core/config/index.js';

const root = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  env_file?: string | Array<string | { path: string }>;
  environment?: Record<string, string | number | null>;
  ports?: string[];
  expose?: string[];
  command?: string[] | string;
  healthcheck?: { test: string[] | string };
  deploy?: { replicas?: number | string };
  profiles?: string[];
  volumes?: string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const DATA_SERVICES = ['postgres', 'redis', 'chroma', 'ollama'];
const HERALD_SERVICES = ['app', 'worker', 'backup'];

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$. */
function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (whole, name: string | undefined, colon: string, op: string, arg: string) => {
      if (whole === '$$') return '$';
      const value = vars[name!];
      const missing = value === undefined || (colon === ':' && value === '');
      if (op === '-') return missing ? arg : value!;
      if (op === '?' && missing) throw new Error(`required variable ${name} is missing a value: ${arg}`);
      return value ?? '';
    },
  );
}

/** A service's environment as its container gets it, with `dotenv` as the project's .env. */
function containerEnv(name: string, dotenv: Record<string, string>): Record<string, string> {
  const s = services[name]!;
  const files = s.env_file === undefined ? [] : Array.isArray(s.env_file) ? s.env_file : [s.env_file];
  const fromFiles = files.some((f) => (typeof f === 'string' ? f : f.path) === '.env') ? { ...dotenv } : {};
  const fixed = Object.fromEntries(
    Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''), dotenv)]),
  );
  return { ...fromFiles, ...fixed };
}

const key = Buffer.alloc(32, 7).toString('base64');
/** A .env as a self-hoster writes it: the required pair, and then anything else. */
const minimalDotenv = { POSTGRES_PASSWORD: 'pg4tests', ENCRYPTION_KEYS: `k1:${key}` };

/** The variables of README's configuration table (the documented set, checked against VARIABLES elsewhere). */
function tableVariables(): string[] {
  const section = read('README.md').slice(read('README.md').indexOf('## Configuration'));
  return [...section.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]!);
}

describe('docker-compose.yml', () => {
  it('every variable of the configuration table set in .env reaches app and worker (and _FILE forms of secrets)', () => {
    const table = tableVariables();
    expect(table.length).toBeGreaterThan(50);
    for (const service of ['app', 'worker']) {
      const fixed = new Set(Object.keys(services[service]!.environment ?? {}));
      for (const name of table) {
        const marker = `from-dotenv-${name.toLowerCase()}`;
        const env = containerEnv(service, { ...minimalDotenv, [name]: marker });
        if (fixed.has(name)) {
          // Set by the compose file: it must use the .env value when it interpolates one, or
          // be one of the addresses the compose file owns.
          const raw = String(services[service]!.environment![name]);
          if (raw.includes(`\${${name}`)) expect(env[name], `${service} ${name}`).toBe(marker);
          else
            expect(
              [
                'HOST',
                'PORT',
                'DATA_DIR',
                'DATABASE_URL',
                'REDIS_URL',
                'REDIS_AUTOSTART',
                'CHROMA_URL',
                'OLLAMA_URL',
                'SHUTDOWN_TIMEOUT_MS',
                'HERALD_ROLE',
              ],
              `${service} ${name}`,
            ).toContain(name);
        } else {
          expect(env[name], `${service} gets ${name} from .env`).toBe(marker);
        }
      }
      const secret = VARIABLES.find((v) => isSecret(v) && !fixed.has(v.name))!;
      expect(
        containerEnv(service, { ...minimalDotenv, [`${secret.name}_FILE`]: '/run/secrets/x' })[`${secret.name}_FILE`],
      ).toBe('/run/secrets/x');
    }
  });

  it('with the minimal .env, every Herald service starts on a valid configuration of its role', () => {
    for (const service of HERALD_SERVICES) {
      const env = containerEnv(service, minimalDotenv);
      const config = loadConfig({ env, readDotenv: false, cwd: '/app' });
      expect(config.databaseUrl).toBe('postgres://herald:pg4tests@postgres:5432/herald');
      expect(config).toMatchObject({
        host: '0.0.0.0',
        port: 3000,
        dataDir: '/app/data',
        redisUrl: 'redis://redis:6379',
        redisAutostart: false,
        chromaUrl: 'http://chroma:8000',
        ollamaUrl: 'http://ollama:11434',
      });
      expect(config.encryption?.activeKeyId).toBe('k1');
      // The proxy reaches the API over the compose network's private addresses.
      expect(config.api.trustProxy).toEqual(['uniquelocal']);
    }
    expect(loadConfig({ env: containerEnv('app', minimalDotenv), readDotenv: false }).role).toBe('api');
    expect(loadConfig({ env: containerEnv('worker', minimalDotenv), readDotenv: false }).role).toBe('worker');
  });

  it('refuses to start without POSTGRES_PASSWORD or ENCRYPTION_KEYS (no default password)', () => {
    expect(() => containerEnv('app', { ENCRYPTION_KEYS: `k1:${key}` })).toThrow(/POSTGRES_PASSWORD/);
    expect(() => interpolate(String(services.postgres!.environment!.POSTGRES_PASSWORD), {})).toThrow(
      /POSTGRES_PASSWORD/,
    );
    expect(() => containerEnv('worker', { POSTGRES_PASSWORD: 'x' })).toThrow(/ENCRYPTION_KEYS/);
    expect(read('docker-compose.yml')).not.toMatch(/POSTGRES_PASSWORD:-/);
  });

  it('no data service publishes a port; only the proxy does, on 127.0.0.1 unless HERALD_BIND says otherwise', () => {
    for (const name of DATA_SERVICES) expect(services[name]!.ports, name).toBeUndefined();
    for (const name of HERALD_SERVICES) expect(services[name]!.ports, name).toBeUndefined();
    const published = Object.entries(services).filter(([, s]) => s.ports);
    expect(published.map(([n]) => n)).toEqual(['proxy']);
    for (const port of services.proxy!.ports!) {
      expect(interpolate(port, {})).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
      expect(interpolate(port, { HERALD_BIND: '0.0.0.0' })).toMatch(/^0\.0\.0\.0:/);
    }
  });

  it('healthchecks talk TCP to 127.0.0.1, never the Unix socket', () => {
    for (const name of ['postgres', 'redis', 'chroma']) {
      const test = services[name]!.healthcheck!.test;
      const text = Array.isArray(test) ? test.join(' ') : test;
      expect(text, name).toMatch(/-h 127\.0\.0\.1|\/dev\/tcp\/127\.0\.0\.1\//);
    }
    expect(String(services.postgres!.healthcheck!.test)).toMatch(/pg_isready -h 127\.0\.0\.1 -p 5432/);
  });

  it('Redis never evicts (BullMQ requires noeviction) and keeps an append-only file', () => {
    const command = services.redis!.command as string[];
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(command[command.indexOf('--appendonly') + 1]).toBe('yes');
  });

  it('every image is pinned to a version tag (ollama included)', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.image || s.build) continue;
      expect(s.image, name).toMatch(/^[\w./-]+:\d[\w.-]*$/);
    }
    expect(services.ollama!.image).toMatch(/^ollama\/ollama:\d+\.\d+\.\d+$/);
  });

  it('app is scaled behind the proxy, which balances over every replica', () => {
    expect(Number(interpolate(String(services.app!.deploy!.replicas), {}))).toBeGreaterThanOrEqual(2);
    expect(services.app!.expose).toEqual(['3000']);
    const caddyfile = read('deploy/Caddyfile');
    expect(services.proxy!.volumes).toContain('./deploy/Caddyfile:/etc/caddy/Caddyfile:ro');
    expect(caddyfile).toMatch(/dynamic a app 3000/);
    expect(caddyfile).toMatch(/respond \/metrics 404/);
  });

  it('the backup service writes to ./backups with npm run backup, and only when run', () => {
    expect(services.backup!.profiles).toEqual(['tools']);
    expect(services.backup!.volumes).toContain('./backups:/backups');
    expect(services.backup!.command).toEqual(['npm', 'run', '--silent', 'backup', '--', '--out', '/backups']);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.backup).toBeDefined();
    expect(scripts.restore).toBeDefined();
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const apt = /apt-get install -y --no-install-recommends ([^\\&\n]+)/.exec(dockerfile)![1]!.trim().split(/\s+/);

  it('runs on a current even-numbered (LTS) Node line, under tini', () => {
    const major = Number(/^FROM node:(\d+)-/m.exec(dockerfile)![1]);
    expect(major).toBeGreaterThanOrEqual(24);
    expect(major % 2).toBe(0);
    expect(apt).toContain('tini');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "--import", "tsx", "server\/main.ts"\]$/m);
  });

  it('installs only what runs: pg_dump for backups, no sox or espeak-ng (voice needs neither program)', () => {
    expect(apt.sort()).toEqual(['postgresql-client', 'tini']);
    expect(read('scripts/backup/database.ts')).toMatch(/'pg_dump'/);
    expect(read('scripts/backup/database.ts')).toMatch(/'pg_restore'/);
    // Nothing outside tests starts these programs.
    for (const file of ['voice/tts/espeak.ts', 'voice/audio.ts', 'voice/stt/whisper-cpp.ts']) {
      expect(read(file), file).not.toMatch(/spawn\(\s*['"](sox|espeak-ng)['"]/);
    }
  });

  it('builds the web console in a stage of its own and ships web/dist (the CMD bypasses the prestart build of npm start)', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.map((st) => st.split('\n')[0])).toEqual(['node:26-trixie-slim AS console', 'node:26-trixie-slim']);
    expect(stages[0]).toMatch(/^RUN npm run build:web$/m);
    expect(stages[1]).toMatch(/^COPY --from=console \/app\/web\/dist \.\/web\/dist$/m);
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['build:web']).toBe(
      'tsx scripts/build-web.ts --force',
    );
    // The stage copies only web/ and the build script: the script may import nothing else of ours.
    const imports = [...read('scripts/build-web.ts').matchAll(/(?:from |import\()'([^']+)'/g)].map((m) => m[1]);
    for (const spec of imports) expect(spec, spec).toMatch(/^(node:|vite$)/);
    expect(read('.dockerignore').split('\n')).toContain('web/dist');
  });

  it('.dockerignore keeps secrets, data and backups out of the image; .env.example names only real settings', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.env', 'data', 'backups', 'node_modules', '.git']) expect(ignored).toContain(entry);
    const example = read('.env.example');
    const named = [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    const composeOnly = [
      'POSTGRES_PASSWORD',
      'HERALD_SITE',
      'HERALD_BIND',
      'HERALD_HTTP_PORT',
      'HERALD_HTTPS_PORT',
      'HERALD_API_REPLICAS',
    ];
    const known = new Set([...VARIABLES.map((v) => v.name), ...composeOnly]);
    for (const name of named) expect(known.has(name), name).toBe(true);
    // The two compose requires are there to fill in, not commented out.
    expect(Object.keys(parseDotenv(example))).toEqual(['POSTGRES_PASSWORD', 'ENCRYPTION_KEYS']);
    for (const name of composeOnly) expect(read('docker-compose.yml'), name).toContain(`\${${name}`);
  });
});
