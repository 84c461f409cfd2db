# msgbot-gateway: the compiled build on Node 20, run as the unprivileged `node` user.
#   docker build -t msgbot-gateway .
#   docker run -p 1485:1485 -v msgbot-data:/data msgbot-gateway
# Data (SQLite file, generated secrets.json) lives in the /data volume. See compose.yaml for MariaDB.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# toolchain for better-sqlite3 when no prebuilt binary fits
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are here; native modules are built next
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    MSGBOT_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json README.md ./
# handler modules mounted anywhere (e.g. /bot) can `import … from 'msgbot-gateway/handlers'`
RUN mkdir -p /data /node_modules && chown node:node /data && ln -s /app /node_modules/msgbot-gateway
USER node
VOLUME ["/data"]
# phones (plain TCP); admin endpoint (/healthz, /readyz, /metrics) on 127.0.0.1 inside the container
EXPOSE 1485
# liveness from inside the container, so the admin endpoint can stay on 127.0.0.1
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.MSGBOT_ADMIN_PORT || 9485) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
