# syntax=docker/dockerfile:1
#
# Herald runtime image, one image for every role (HERALD_ROLE=api | worker | all). tsx is a
# production dependency and runs the TypeScript sources directly; the only thing built is the
# web console (web/ -> web/dist, by Vite, a dev dependency), in a stage of its own.
#
# Node 26 is the Active LTS line (Node 20 reached its end of life in April 2026); the code
# keeps passing on Node 20 too, which CI runs. Debian trixie ships postgresql-client 17:
# `npm run backup` runs its pg_dump, which reads the PostgreSQL 16 of docker-compose.yml
# (pg_dump reads servers older than itself, never newer ones).
FROM node:26-trixie-slim AS console
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Dev dependencies for Vite; no install scripts: building the console needs no native addon
# that a script compiles (Vite's bundler ships prebuilt per platform).
RUN npm ci --ignore-scripts
COPY web ./web
COPY scripts/build-web.ts ./scripts/
RUN npm run build:web

FROM node:26-trixie-slim

# tini is PID 1: it forwards SIGTERM to node and reaps orphaned children (an embedded Redis or
# Chroma, whisper-cli), so a plain `docker run` needs no --init. postgresql-client: pg_dump and
# pg_restore for `npm run backup` / `npm run restore`. Voice needs no system package: espeak-ng
# runs as WebAssembly from npm, and audio is decoded in process (no sox).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini postgresql-client \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data \
    REDIS_AUTOSTART=false

WORKDIR /app

# Manifests first so the dependency layer is reused when only source changes.
# .npmrc must be present for npm ci to honour the project's npm settings.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev \
 && npm cache clean --force

# Source stays root-owned (read-only for the app user). .dockerignore keeps test/, bench/,
# node_modules, data, backups and .env out, so this copies the application folders and config files.
COPY . .

# The console built above; the image's CMD runs node directly, so npm start's prestart
# build never runs here.
COPY --from=console /app/web/dist ./web/dist

# Created before VOLUME so a fresh named volume inherits node ownership.
RUN mkdir -p /app/data /backups && chown node:node /app/data /backups
VOLUME ["/app/data"]

USER node

EXPOSE 3000

# Liveness only: /ready also fails when db/redis/chroma are down, and that
# should not get the container marked unhealthy or restarted. The slim image
# has no curl, so use Node's built-in fetch. Works for both roles: the worker
# also serves /health (and /ready, /metrics) on PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

STOPSIGNAL SIGTERM
# node directly, not via npm, so SIGTERM reaches the app's shutdown handler (through tini).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "server/main.ts"]
