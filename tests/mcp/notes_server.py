"""An MCP server (the official Python SDK's MCPServer) that sleuth uses as a
research source in tests: a `search` tool over a few notes, and the ways a
real server misbehaves.

usage: notes_server.py MODE STARTS_FILE
  MODE: ok | crash (exits mid-call) | hang (never answers a call) |
        delay:MS (answers after MS milliseconds)
  (garbage on stdout and floods: raw_server.py, since the SDK keeps
  stray writes off the wire)
  STARTS_FILE: one line is appended per start (sleuth restarts a broken
  server at most once per fetch).
"""

import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer

MODE = sys.argv[1]
with open(sys.argv[2], "a") as f:
    f.write(f"{os.getpid()}\n")

NOTES = {
    "Quokka field notes": "Quokkas live on Rottnest Island off Perth, Western Australia. "
    "They are small marsupials, about the size of a domestic cat, and are mostly nocturnal.",
    "Sourdough": "A sourdough starter is a culture of wild yeast and lactic acid bacteria.",
}

mcp = MCPServer("notes")


@mcp.tool()
async def search(query: str) -> list[str]:
    """Search the notes."""
    if MODE == "crash":
        os._exit(3)
    if MODE == "hang":
        await asyncio.sleep(3600)
    if MODE.startswith("delay:"):
        # The tool's own answer time, for the overhead bench.
        await asyncio.sleep(int(MODE[6:]) / 1000)
    words = {w.strip("?.,").lower() for w in query.split()}
    hits = [f"# {t}\n{body}" for t, body in NOTES.items()
            if words & {w.strip(".,").lower() for w in (t + " " + body).split()}]
    secret = "visible" if os.environ.get("SLEUTH_TEST_SECRET") else "not visible"
    shared = os.environ.get("SLEUTH_TEST_SHARED", "absent")
    hits.append(f"# Environment\nThe secret is {secret}; the shared variable is {shared}.")
    return hits


mcp.run()
