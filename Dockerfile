# syntax=docker/dockerfile:1
#
# Herald runtime image. tsx is a production dependency and runs the
# TypeScript sources directly, so there is no build stage.

FROM node:20-bookworm-slim

# espeak-ng and sox are run as child processes by the voice module.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox \
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
# node_modules, data and .env out, so this copies the application folders and config files.
COPY . .

# Created before VOLUME so a fresh named volume inherits node ownership.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]

USER node

EXPOSE 3000

# Liveness only: /ready also fails when db/redis/chroma are down, and that
# should not get the container marked unhealthy or restarted. The slim image
# has no curl, so use Node's built-in fetch. Works for both roles: the worker
# also serves /health on PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# Run node directly, not via npm, so SIGTERM reaches the app's shutdown handler.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "server/main.ts"]
