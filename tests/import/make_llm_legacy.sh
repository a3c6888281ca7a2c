#!/usr/bin/env bash
# Makes llm-0.27-logs.db: a logs.db written by the real simonw/llm 0.27
# (the `responses` table, before llm 0.36's message store), with its echo
# model. Run once by hand; the file is committed (two llm versions cannot
# share the test venv).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q "llm==0.27" "llm-echo==0.3" "httpx==0.28.1"
export LLM_USER_PATH="$tmp/home"
mkdir -p "$LLM_USER_PATH"
llm="$tmp/venv/bin/llm"
"$llm" -m echo "What is the capital of France?" >/dev/null
"$llm" -c -m echo "And of Spain? café ☕ 東京" >/dev/null
"$llm" -m echo -s "be brief" "A second conversation about Rayleigh scattering" >/dev/null
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('VACUUM'); c.close()" "$LLM_USER_PATH/logs.db"
cp "$LLM_USER_PATH/logs.db" "$here/llm-0.27-logs.db"
rm -rf "$tmp"
