# syntax=docker/dockerfile:1
#
# The gateway in a container: `docker build -t siliconflow-gateway .` then
#   docker run -p 4000:4000 -e SILICONFLOW_API_KEY=sk-... -v gw-logs:/app/logs -v gw-data:/app/data siliconflow-gateway
# Without SILICONFLOW_API_KEY it runs against its built-in simulator and says so. deploy/ has a compose
# file with Prometheus and Grafana.
#
# Node 22 is the LTS line in support; the app needs >= 20.19, so NODE_VERSION=20 builds too.
ARG NODE_VERSION=22

# --- build: dev dependencies, TypeScript (tsc, for decorator metadata) and the web page (vite) ---------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Manifests first: the dependency layer is reused until package*.json change.
COPY package.json package-lock.json ./
# Optional dependencies stay in: sharp's prebuilt libvips binaries are optional npm packages.
RUN npm ci --no-audit --no-fund
COPY . .
# The runtime stage copies web/dist unconditionally: an empty folder stands in when no page was built.
RUN npm run build \
    && mkdir -p web/dist

# --- runtime: production dependencies and the compiled output only -----------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    LOG_DIR=/app/logs \
    DATA_DIR=/app/data
WORKDIR /app
# jemalloc, as sharp advises on glibc: with glibc's allocator the peak grew burst after burst (48 edits at
# once: 377, 423, 477 MB) and sharp limits libvips to one thread; with jemalloc it stayed at 443 MB and RSS
# fell back between bursts (docs/benchmarks.md). `-e LD_PRELOAD=` turns it off.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libjemalloc2 \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/local/lib/libjemalloc.so.2
COPY package.json package-lock.json ./
# Never --omit=optional: that would drop sharp's platform binaries and the gateway could not start.
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
# The example holds every setting with its default; mount a real one as /app/gateway.config.yaml.
COPY gateway.config.example.yaml ./
# The image's "node" user (uid 1000) owns only what it writes: the call log and the stored images.
RUN mkdir -p /app/logs /app/data \
    && chown node:node /app/logs /app/data \
    && chmod 0700 /app/logs /app/data
USER node
VOLUME ["/app/logs", "/app/data"]
EXPOSE 4000
# Liveness only (200 while the process serves HTTP); slim images have no curl, so node asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, which starts the graceful drain.
CMD ["node", "dist/src/main.js"]
