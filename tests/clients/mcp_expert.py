"""A real MCP client (the official Python `mcp` SDK) acting as an LLM expert against
`lighthouse mcp`. Driven by tests/e2e/mcp.rs; prints one JSON line per step on stdout.

    mcp_expert.py stdio LIGHTHOUSE_BIN EXPERT SPECIALTY   # spawns `lighthouse mcp`
    mcp_expert.py http URL                                 # a running `lighthouse mcp --listen`

stdio: lists the tools, says "ready", waits (polling list_escalations, as a client whose
tool calls time out must) for an escalation, reads its context, annotates the file it
touches, votes to approve, polls get_decision until decided, calls the permission
prompt for the same call. http: lists the tools and reads a file's history.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def say(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


async def call(session, name, args):
    result = await session.call_tool(name, args)
    text = result.content[0].text if result.content else ""
    # mcp 2.x spells fields in snake_case, 1.x in camelCase.
    if getattr(result, "is_error", None) or getattr(result, "isError", None):
        return {"error": text}
    return json.loads(text)


async def expert(session):
    tools = await session.list_tools()
    say("tools", names=sorted(t.name for t in tools.tools))
    say("ready")
    pending = []
    for _ in range(120):  # each call waits up to 5 s server-side
        listed = await call(session, "list_escalations", {"wait_seconds": 5})
        pending = [p for p in listed.get("pending", []) if not p["voted"]]
        if pending:
            break
    if not pending:
        say("no_escalation")
        return
    item = pending[0]
    say("pending", item=item)
    context = await call(session, "get_escalation", {"cmd_id": item["cmd_id"]})
    say("context", context=context)
    # A refusal the caller must see: a specialty this server does not hold.
    wrong = await call(
        session,
        "vote",
        {"cmd_id": item["cmd_id"], "choice": "approve", "reason": "x", "specialty": "human"},
    )
    say("wrong_specialty", answer=wrong)
    files = context.get("files") or []
    if files:
        f = files[0]
        note = await call(
            session,
            "annotate_file",
            {
                "project": context["project"],
                "path": f["project_path"],
                "line": 2,
                "message": "keys belong in the secret store",
                "category": "security",
                "severity": "high",
            },
        )
        say("annotated", answer=note)
        read = await call(
            session,
            "read_file",
            {"project": context["project"], "path": f["project_path"], "version": str(f["version"]["seq"])},
        )
        say("read", answer=read)
    voted = await call(
        session,
        "vote",
        {
            "cmd_id": item["cmd_id"],
            "choice": "approve",
            "reason": "a test key, approved by the MCP expert",
            "suggestions": ["load it from the environment"],
            "wait_seconds": 1,
        },
    )
    say("voted", answer=voted)
    decided = voted
    for _ in range(60):
        if decided.get("status") == "decided":
            break
        decided = await call(session, "get_decision", {"cmd_id": item["cmd_id"], "wait_seconds": 5})
    say("decision", answer=decided)
    prompt = await call(
        session,
        "permission_prompt",
        {"tool_name": context["command"]["tool_name"], "input": context["command"]["tool_input"],
         "tool_use_id": item["cmd_id"]},
    )
    say("permission", answer=prompt)
    deny = await call(
        session,
        "permission_prompt",
        {"tool_name": "Bash", "input": {"command": "rm -rf /"}, "tool_use_id": "never-seen"},
    )
    say("permission_unknown", answer=deny)


async def stdio(binary, name, specialty):
    params = StdioServerParameters(
        command=binary,
        args=["mcp", "--expert", name, "--specialty", specialty],
        env=dict(os.environ),
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await expert(session)


async def http(url, project, path):
    import mcp.client.streamable_http as transport

    # mcp 2.x: streamable_http_client yields (read, write); 1.x: streamablehttp_client
    # yields (read, write, session id).
    connect = getattr(transport, "streamable_http_client", None) or transport.streamablehttp_client
    async with connect(url) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            info = getattr(init, "server_info", None) or getattr(init, "serverInfo", None)
            say("initialized", server=info.name, instructions=init.instructions)
            tools = await session.list_tools()
            say("tools", names=sorted(t.name for t in tools.tools))
            say("history", answer=await call(session, "file_history", {"project": project, "path": path}))
            say("listed", answer=await call(session, "list_escalations", {}))


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        asyncio.run(stdio(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        asyncio.run(http(sys.argv[2], sys.argv[3], sys.argv[4]))
