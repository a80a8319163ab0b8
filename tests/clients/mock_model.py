#!/usr/bin/env python3
"""A scripted model API on 127.0.0.1 for driving the real agent CLIs offline.

One server speaks three dialects, chosen by the request path:
  POST /v1/messages                          Anthropic Messages (Claude Code)
  POST /v1/responses                         OpenAI Responses (Codex CLI)
  POST /v1beta/models/<m>:streamGenerateContent, :generateContent   Gemini API

The script (JSON) is a list of tool calls and a final text:
  {"steps": [{"name": "Bash", "input": {"command": "touch allowed.txt"}}], "final": "done"}
A request that offers tools gets step N, where N is how many tool results the
conversation already holds; past the last step it gets the final text. A request that
offers no tools (titles, summaries, routing) gets the final text. Every request is
appended to the log file as one JSON line {"path", "body"}, so a test can read exactly
what the model was sent.

Usage: mock_model.py SCRIPT LOG PORT_FILE   (writes the chosen port to PORT_FILE)
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCRIPT = {}
LOG_PATH = ""
LOG_LOCK = threading.Lock()


def log(path, body):
    with LOG_LOCK, open(LOG_PATH, "a", encoding="utf-8") as f:
        f.write(json.dumps({"path": path, "body": body}) + "\n")


def step_for(results):
    steps = SCRIPT.get("steps", [])
    return steps[results] if results < len(steps) else None


# ---- Anthropic Messages -------------------------------------------------------------


def anthropic_results(body):
    n = 0
    for m in body.get("messages", []):
        content = m.get("content")
        if isinstance(content, list):
            n += sum(1 for c in content if isinstance(c, dict) and c.get("type") == "tool_result")
    return n


def anthropic(body):
    step = step_for(anthropic_results(body)) if body.get("tools") else None
    n = anthropic_results(body)
    if step is not None:
        block = {"type": "tool_use", "id": f"toolu_mock{n:04d}", "name": step["name"], "input": step["input"]}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": SCRIPT.get("final", "done")}
        stop = "end_turn"
    message = {
        "id": f"msg_mock{n:04d}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "mock"),
        "content": [block],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }
    if not body.get("stream"):
        return "application/json", [json.dumps(message)]
    start = dict(message, content=[], stop_reason=None)
    events = [("message_start", {"type": "message_start", "message": start})]
    if block["type"] == "tool_use":
        events.append(("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": dict(block, input={})}))
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "input_json_delta",
                                                         "partial_json": json.dumps(block["input"])}}))
    else:
        events.append(("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}}))
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": block["text"]}}))
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": 10}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return "text/event-stream", [f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events]


# ---- OpenAI Responses ---------------------------------------------------------------


def responses_results(body):
    items = body.get("input", [])
    return sum(1 for i in items if isinstance(i, dict)
               and i.get("type") in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"))


def responses(body):
    n = responses_results(body)
    step = step_for(n) if body.get("tools") else None
    if step is not None:
        if step.get("custom"):
            item = {"type": "custom_tool_call", "id": f"ctc_mock{n}", "status": "completed",
                    "call_id": f"call_mock{n:04d}", "name": step["name"], "input": step["input"]}
        else:
            item = {"type": "function_call", "id": f"fc_mock{n}", "status": "completed",
                    "call_id": f"call_mock{n:04d}", "name": step["name"],
                    "arguments": json.dumps(step["input"])}
    else:
        item = {"type": "message", "id": f"msg_mock{n}", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": SCRIPT.get("final", "done"), "annotations": []}]}
    resp = {"id": f"resp_mock{n}", "object": "response", "status": "completed", "model": body.get("model", "mock"),
            "output": [item],
            "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 10,
                      "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 20}}
    events = [
        {"type": "response.created", "response": dict(resp, status="in_progress", output=[])},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": resp},
    ]
    return "text/event-stream", [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events]


# ---- Gemini -------------------------------------------------------------------------


def gemini_results(body):
    n = 0
    for c in body.get("contents", []):
        n += sum(1 for p in c.get("parts", []) if isinstance(p, dict) and "functionResponse" in p)
    return n


def gemini(body, stream):
    n = gemini_results(body)
    step = step_for(n) if body.get("tools") else None
    if step is not None:
        part = {"functionCall": {"name": step["name"], "args": step["input"]}}
    else:
        part = {"text": SCRIPT.get("final", "done")}
    chunk = {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
             "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 10, "totalTokenCount": 20},
             "modelVersion": "mock"}
    if stream:
        return "text/event-stream", [f"data: {json.dumps(chunk)}\n\n"]
    return "application/json", [json.dumps(chunk)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, ctype, chunks):
        data = "".join(chunks).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        log(self.path, None)
        path = self.path.split("?")[0]
        if path.endswith("/models"):
            self.reply(200, "application/json", [json.dumps({"data": [], "models": []})])
        else:
            self.reply(404, "application/json", ['{"error":"not found"}'])

    def do_HEAD(self):
        self.reply(200, "text/plain", [""])

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        log(self.path, body)
        path = self.path.split("?")[0]
        if path.endswith("/messages/count_tokens"):
            self.reply(200, "application/json", ['{"input_tokens": 10}'])
        elif path.endswith("/messages"):
            self.reply(200, *anthropic(body))
        elif path.endswith("/responses"):
            self.reply(200, *responses(body))
        elif ":streamGenerateContent" in path:
            self.reply(200, *gemini(body, True))
        elif ":generateContent" in path:
            self.reply(200, *gemini(body, False))
        elif ":countTokens" in path:
            self.reply(200, "application/json", ['{"totalTokens": 10}'])
        else:
            self.reply(404, "application/json", ['{"error":"not found"}'])


def main():
    global SCRIPT, LOG_PATH
    script_path, LOG_PATH, port_file = sys.argv[1:4]
    with open(script_path, encoding="utf-8") as f:
        SCRIPT = json.load(f)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
