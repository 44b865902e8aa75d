# syntax=docker/dockerfile:1
# One image for every role: `docker run IMAGE --role gateway|worker|all` (compose.yaml runs
# a gateway and scalable workers from it). The image has no redis-server: set REDIS_URL.
# Node 26 is the Active LTS line since October 2026 (supported to April 2029); slim keeps
# the image small. `--build-arg NODE_IMAGE=node:24-slim` builds on the previous LTS line.
ARG NODE_IMAGE=node:26-slim

# `npm ci`, as `npm start` and `npm test` install (scripts/bootstrap.mjs): exactly what
# package-lock.json records (it lists every platform's optional builds), and of the
# dependencies' install scripts only those package.json's allowScripts allows: none.

# Compile TypeScript to dist/ with the full dependency set.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
RUN npm run build

# Production dependencies only: no TypeScript, vitest or browsers in the final image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM ${NODE_IMAGE}
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
# Owned by root and only readable by the service: it cannot rewrite its own code.
# package.json comes along for "type": "module", which makes dist/**/*.js ES modules.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The official image's unprivileged user.
USER node
EXPOSE 8080
# slim has no curl; Node's fetch asks the process's own /healthz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself: intake stops, jobs in progress finish
# (SHUTDOWN_TIMEOUT_MS), then it exits. Its flags are scripts/node-flags.json's "service"
# (fewer and shorter GC pauses under load, for some more memory under load).
ENTRYPOINT ["node", "--max-semi-space-size=32", "--heap-growing-percent=200", "dist/src/main.js"]
CMD ["--role", "all"]
