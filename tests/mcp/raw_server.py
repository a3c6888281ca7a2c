"""A hand-written MCP server that misbehaves on stdout, which the official
SDK will not let a server do (it keeps stray writes off the wire): it
answers the handshake and tools/list properly, then answers tools/call
with non-JSON lines (garbage) or a 50 MB line (flood).

usage: raw_server.py garbage|flood STARTS_FILE
"""

import json
import os
import sys
import time

MODE = sys.argv[1]
with open(sys.argv[2], "a") as f:
    f.write(f"{os.getpid()}\n")


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    method, mid = msg.get("method"), msg.get("id")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": mid, "result": {
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "raw", "version": "0"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": mid, "result": {"tools": [{
            "name": "search", "description": "search",
            "inputSchema": {"type": "object", "properties": {"query": {"type": "string"}}}}]}})
    elif method == "tools/call":
        if MODE == "garbage":
            sys.stdout.write("this is not json-rpc\n" * 50)
        else:
            sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": mid, "result": {
                "content": [{"type": "text", "text": "x" * (50 * 1024 * 1024)}]}}) + "\n")
        sys.stdout.flush()
        time.sleep(3600)
    elif mid is not None:
        send({"jsonrpc": "2.0", "id": mid, "result": {}})
