"""Times search_history round trips through the official SDK client.

usage: bench_search.py QUERIES_JSON WARMUP_SECS -- COMMAND [ARGS...]
Prints a JSON list of milliseconds, one per query, in order (second pass).
"""

import asyncio
import json
import os
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main():
    queries = json.loads(sys.argv[1])
    warmup = float(sys.argv[2])
    sep = sys.argv.index("--")
    cmd = sys.argv[sep + 1:]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
    out = []
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            # The server reads its term dictionary in the background, as
            # the app does; time searches once it is in.
            await asyncio.sleep(warmup)
            # Twice, as the in-process side runs them: the first pass warms
            # the caches, the second is timed.
            for timed in (False, True):
                for q in queries:
                    t = time.perf_counter()
                    r = await session.call_tool("search_history", {"query": q, "limit": 50})
                    if timed:
                        out.append(-1.0 if r.is_error else (time.perf_counter() - t) * 1000)
    print(json.dumps(out))


asyncio.run(main())
