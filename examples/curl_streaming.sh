#!/usr/bin/env bash
# Streaming with curl: Chat Completions (data: lines, then data: [DONE]) and Messages
# (named events). -N turns off curl's buffering so frames print as they arrive.
#
#   CLAUDE_WRAPPER_URL=http://127.0.0.1:8000 API_KEY=... bash examples/curl_streaming.sh
set -euo pipefail
url="${CLAUDE_WRAPPER_URL:-http://127.0.0.1:8000}"
key="${API_KEY:-no-key}"
question="${1:-Count from one to five.}"
body=$(printf '{"stream": true, "messages": [{"role": "user", "content": "%s"}]}' "$question")

echo "== POST /v1/chat/completions"
curl -sS -N --fail-with-body "$url/v1/chat/completions" \
  -H "Authorization: Bearer $key" \
  -H "Content-Type: application/json" \
  -d "$body"

echo "== POST /v1/messages"
curl -sS -N --fail-with-body "$url/v1/messages" \
  -H "x-api-key: $key" \
  -H "anthropic-version: 2023-06-01" \
  -H "Content-Type: application/json" \
  -d "$(printf '{"stream": true, "max_tokens": 512, "messages": [{"role": "user", "content": "%s"}]}' "$question")"
