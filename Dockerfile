# syntax=docker/dockerfile:1
# Switchboard as a container: a build stage compiles the TypeScript (dev dependencies), the
# runtime stage holds the production dependencies and the build only. See docs/deployment.md.
#   docker build -t switchboard .
#   docker run -p 8080:8080 -v switchboard-data:/data switchboard

FROM node:20-bookworm-slim AS build
WORKDIR /app
# npm's postinstall runs patch-package over patches/ (the postgres driver and trpc-to-openapi),
# so the patches come in before npm ci. Scarf (an install-time ping of swagger-ui) stays quiet.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY db ./db
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    SCARF_ANALYTICS=false \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# No TypeScript toolchain at runtime: bin/switchboard.js runs dist/ when tsx is not installed.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY LICENSE ./
# `switchboard …` inside the container (docker exec) is the same CLI as `npx switchboard`.
RUN ln -s /app/bin/switchboard.js /usr/local/bin/switchboard \
 && mkdir -p /data && chown node:node /data
# The image's own user (uid 1000); it owns only DATA_DIR (the embedded database, its secret.key).
USER node
VOLUME ["/data"]
EXPOSE 8080
# Node's own fetch: the slim image has no curl. /health answers 200 once the database answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/start.js"]
