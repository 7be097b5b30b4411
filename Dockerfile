# One image for Rotor's processes: `rotor unseal`, `rotor configure`, and users-api.
# Build: docker build -t ghcr.io/rotor-dev/rotor:0.1.0 .
# (No Docker engine exists on the development machines; CI builds the TypeScript, and testbed/images/build.sh
# builds this file with buildah on a Node base made as node:24-bookworm-slim is.)
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY testbed/package.json testbed/
COPY packages/vault-client/package.json packages/vault-client/
COPY packages/db-credentials/package.json packages/db-credentials/
COPY packages/unsealer/package.json packages/unsealer/
COPY packages/configure/package.json packages/configure/
COPY packages/cli/package.json packages/cli/
COPY services/users-api/package.json services/users-api/
COPY bench/package.json bench/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -b && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src /app
USER 10001:10001
ENTRYPOINT ["node", "/app/packages/cli/dist/src/main.js"]
