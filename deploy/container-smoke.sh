#!/usr/bin/env bash
# Runs a built image the way an operator would, without a key (so against the built-in simulator), and
# checks what the Dockerfile promises: it serves and turns healthy, runs as the image's non-root user with
# private log and data folders, preloads jemalloc, generates and serves an image, writes the call log into
# its volume, and on `docker stop` lets a call in flight finish, logs it and exits 0.
#
#   docker build -t siliconflow-gateway . && deploy/container-smoke.sh [image] [port]
#
# Needs docker and curl. Uses host networking, so the port must be free on this machine.
set -euo pipefail

IMAGE=${1:-siliconflow-gateway}
PORT=${2:-4710}
NAME=gateway-smoke-$$
BASE=http://127.0.0.1:$PORT
LOGS=$NAME-logs

fail() {
  echo "FAIL: $*" >&2
  docker logs "$NAME" 2>&1 | tail -20 >&2 || true
  exit 1
}
cleanup() {
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker volume rm "$LOGS" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# A slow simulator (2 s per call) leaves time to stop the container while a call is running.
docker run -d --name "$NAME" --network=host -e PORT="$PORT" -e SIMULATOR_LATENCY_MS=2000 \
  -v "$LOGS":/app/logs "$IMAGE" >/dev/null

for _ in $(seq 1 60); do
  curl -sf "$BASE/ready" >/dev/null && break
  sleep 1
done
curl -sf "$BASE/ready" | grep -q '"ready":true' || fail "not ready within 60 s"
curl -sf "$BASE/health" | grep -q '"status":"ok"' || fail "/health does not answer ok"
echo "ok: serves, ready"

[ "$(docker exec "$NAME" id -u)" = 1000 ] || fail "not running as uid 1000"
[ "$(docker exec "$NAME" stat -c '%a %U' /app/logs /app/data | sort -u)" = "700 node" ] || fail "log and data folders are not 0700, owned by node"
docker exec "$NAME" grep -q jemalloc /proc/1/maps || fail "jemalloc is not loaded"
echo "ok: uid 1000, folders 0700, jemalloc preloaded"

GENERATE='{"query":"mutation($input: GenerateImagesInput!) { generateImages(input: $input) { callId images { url } } }","variables":{"input":{"model":"Kwai-Kolors/Kolors","prompt":"a lighthouse"}}}'
ANSWER=$(curl -sf -H 'content-type: application/json' -d "$GENERATE" "$BASE/graphql") || fail "generateImages request failed"
URL=$(printf '%s' "$ANSWER" | grep -o '"url":"[^"]*"' | head -1 | cut -d'"' -f4)
[ -n "$URL" ] || fail "no image URL in: $ANSWER"
[ "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$URL")" = "200 image/png" ] || fail "the output is not served: $URL"
docker exec "$NAME" sh -c 'test "$(stat -c %a /app/logs/image_generation.log)" = 600' || fail "call log is not 0600"
docker exec "$NAME" grep -q '"status":"success"' /app/logs/image_generation.log || fail "no success line in the call log"
echo "ok: generated through the simulator, output served, call logged (0600)"

for _ in $(seq 1 90); do
  [ "$(docker inspect --format '{{.State.Health.Status}}' "$NAME")" = healthy ] && break
  sleep 1
done
[ "$(docker inspect --format '{{.State.Health.Status}}' "$NAME")" = healthy ] || fail "HEALTHCHECK never reported healthy"
echo "ok: HEALTHCHECK healthy"

IN_FLIGHT=$(mktemp)
curl -s -H 'content-type: application/json' -d "${GENERATE/lighthouse/last call}" "$BASE/graphql" >"$IN_FLIGHT" &
CLIENT=$!
sleep 0.5
docker stop -t 30 "$NAME" >/dev/null
wait "$CLIENT" || true
grep -q '"callId"' "$IN_FLIGHT" || fail "the call in flight did not finish: $(cat "$IN_FLIGHT")"
[ "$(docker inspect --format '{{.State.ExitCode}}' "$NAME")" = 0 ] || fail "exit code $(docker inspect --format '{{.State.ExitCode}}' "$NAME") after docker stop"
LINES=$(docker run --rm -v "$LOGS":/logs --entrypoint sh "$IMAGE" -c 'grep -c "\"status\":\"success\"" /logs/image_generation.log')
[ "$LINES" = 2 ] || fail "expected 2 success lines after the stop, found $LINES"
rm -f "$IN_FLIGHT"
echo "ok: docker stop let the call in flight finish and be logged, exit 0"
