"""A real MCP client (the official Python SDK) driving a server over stdio.

usage: client.py STEPS_JSON -- COMMAND [ARGS...]

STEPS_JSON is a list of steps; each result is printed, in order, as one
JSON array on stdout:
  {"op": "init"}                          -> server name, protocol version
  {"op": "list_tools"}                    -> tool names, schemas, annotations
  {"op": "call", "name": N, "args": {...}, "progress": true}
                                          -> is_error, text, structured,
                                             progress messages; or "error"
  {"op": "list_resources"} / {"op": "list_templates"}
  {"op": "read_resource", "uri": U}       -> text and mime type; or "error"
The Rust tests (tests/mcp.rs) assert on what it prints.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def step(session, s, out):
    op = s["op"]
    try:
        if op == "init":
            r = session.initialize_result
            out.append({"name": r.server_info.name, "protocol": r.protocol_version,
                        "instructions": r.instructions})
        elif op == "list_tools":
            r = await session.list_tools()
            out.append([{"name": t.name, "description": t.description,
                         "schema": t.input_schema,
                         "read_only": t.annotations.read_only_hint if t.annotations else None}
                        for t in r.tools])
        elif op == "call":
            progress = []

            async def on_progress(p, total, message):
                progress.append(message)

            r = await session.call_tool(s["name"], s.get("args", {}),
                                        progress_callback=on_progress if s.get("progress") else None)
            out.append({"is_error": bool(r.is_error),
                        "text": "".join(c.text for c in r.content if c.type == "text"),
                        "structured": r.structured_content, "progress": progress})
        elif op == "list_resources":
            r = await session.list_resources()
            out.append([{"uri": str(x.uri), "name": x.name, "mime": x.mime_type} for x in r.resources])
        elif op == "list_templates":
            r = await session.list_resource_templates()
            out.append([{"uri_template": x.uri_template, "mime": x.mime_type}
                        for x in r.resource_templates])
        elif op == "read_resource":
            r = await session.read_resource(s["uri"])
            c = r.contents[0]
            out.append({"text": c.text, "mime": c.mime_type, "uri": str(c.uri)})
        else:
            out.append({"error": f"unknown op {op}"})
    except Exception as e:  # a protocol error is a result too
        out.append({"error": f"{type(e).__name__}: {e}"})


async def main():
    steps = json.loads(sys.argv[1])
    sep = sys.argv.index("--")
    cmd = sys.argv[sep + 1:]
    # The test's sandboxed environment goes to the server as it is.
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
    out = []
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            for s in steps:
                await step(session, s, out)
    print(json.dumps(out))


asyncio.run(main())
