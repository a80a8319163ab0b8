#!/usr/bin/env python3
"""A Lighthouse expert in Python: reviews escalated tool calls by simple rules.

It uses nothing from Lighthouse but the public contract (subjects, the MessagePack
payloads described by the JSON Schemas in schemas/), to show that any language can be
an expert:

  1. heartbeat presence in the KV bucket `lh_experts` under `<specialty>.<id>`;
  2. pull escalations from the specialty's shared durable consumer `expert-<specialty>`
     on stream LH_ESC (instances of one specialty share it);
  3. answer each with a Vote on `lh.vote.<cmd_id>.<id>` (stream LH_VOTE).

Run:  python3 expert.py --url nats://127.0.0.1:4222 --specialty security --id py-bot
"""

import argparse
import asyncio
import hashlib
import json
import os
import signal
import time
import uuid

import msgpack
import nats
from nats.errors import TimeoutError as NatsTimeout

SCHEMA_VERSION = 1
HEARTBEAT_S = 5
MAX_TOKEN_LEN = 64

# Substrings that make this expert reject a call, with the reason it gives.
RISKY = [
    ("| sh", "pipes a download into a shell"),
    ("| bash", "pipes a download into a shell"),
    ("curl ", "downloads from the network"),
    ("wget ", "downloads from the network"),
    ("sudo ", "escalates privileges"),
    ("chmod 777", "makes files world-writable"),
    ("rm -rf", "deletes recursively"),
]


def token(name: str) -> str:
    """Lighthouse's subject token for any name (schemas/src/token.rs, byte for byte)."""
    if name == "":
        return "~"
    raw = name.encode()
    out = "".join(
        chr(b) if (b < 128 and (chr(b).isalnum() or chr(b) in "_-")) else "~%02x" % b
        for b in raw
    )
    if len(out) <= MAX_TOKEN_LEN:
        return out
    cut = MAX_TOKEN_LEN - 1 - 32  # readable prefix, "=", 32 hex digits of SHA-256
    while (cut > 0 and out[cut - 1] == "~") or (cut > 1 and out[cut - 2] == "~"):
        cut -= 1
    return out[:cut] + "=" + hashlib.sha256(raw).hexdigest()[:32]


def now_us() -> int:
    return time.time_ns() // 1000


def review(escalation: dict) -> tuple:
    """The rules: reject anything matching a risky pattern, approve the rest."""
    command = escalation["command"]
    text = json.dumps(command.get("tool_input"))
    for pattern, why in RISKY:
        if pattern in text:
            return "reject", f"{command['tool_name']} {why} ({pattern.strip()!r})", [
                "do it in a reviewed script instead"
            ]
    return "approve", "no risky pattern found", []


def vote_for(escalation: dict, expert: str, specialty: str) -> dict:
    choice, reasoning, suggestions = review(escalation)
    env = escalation["env"]
    return {
        "env": {
            "v": SCHEMA_VERSION,
            "id": str(uuid.uuid4()),
            "ts_us": now_us(),
            "project": env["project"],
            "agent": env["agent"],
            "correlation_id": escalation["cmd_id"],
            "causation_id": env["id"],
        },
        "cmd_id": escalation["cmd_id"],
        "expert": expert,
        "specialty": specialty,
        "choice": choice,
        "reasoning": reasoning,
        "suggestions": suggestions,
        "confidence": 0.6,
    }


async def heartbeat(kv, key: str, expert: str, specialty: str, stop: asyncio.Event):
    while not stop.is_set():
        presence = {"expert": expert, "specialty": specialty, "kind": "script", "ts_us": now_us()}
        try:
            await kv.put(key, json.dumps(presence).encode())
        except Exception as e:  # keep trying: presence is what keeps us asked
            print(f"presence put failed: {e}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), HEARTBEAT_S)
        except asyncio.TimeoutError:
            pass


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--specialty", default="security")
    parser.add_argument("--id", default="py-expert")
    args = parser.parse_args()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    last_error = [None]

    async def on_error(e):
        # One line per new error, no traceback: reconnect attempts report here while
        # the server is away.
        text = f"nats: {type(e).__name__}: {e}"
        if text != last_error[0]:
            print(text, flush=True)
            last_error[0] = text

    async def on_closed():
        # Reconnecting gave up (the server is gone): stop as if told to.
        stop.set()

    nc = await nats.connect(
        args.url,
        name=f"python-expert-{args.id}",
        error_cb=on_error,
        closed_cb=on_closed,
        # A few seconds for a server restart, then give up quietly.
        reconnect_time_wait=1,
        max_reconnect_attempts=5,
        # Stopping must not wait out the default 30 s drain.
        drain_timeout=2,
    )
    js = nc.jetstream()
    kv = await js.key_value("lh_experts")
    # KV keys refuse "~", so tokens use "/" there (Token::kv_key in Rust).
    key = f"{token(args.specialty)}.{token(args.id)}".replace("~", "/")
    beat = asyncio.create_task(heartbeat(kv, key, args.id, args.specialty, stop))
    sub = await js.pull_subscribe_bind(durable=f"expert-{token(args.specialty)}", stream="LH_ESC")
    print(f"python expert {args.id} reviewing {args.specialty} escalations", flush=True)

    while not stop.is_set():
        try:
            messages = await sub.fetch(16, timeout=1)
        except (NatsTimeout, asyncio.TimeoutError):
            continue
        except Exception as e:  # connection lost or closed: wait for reconnect or stop
            if nc.is_closed:
                break
            print(f"fetch failed: {type(e).__name__}: {e}", flush=True)
            await asyncio.sleep(0.5)
            continue
        for msg in messages:
            try:
                escalation = msgpack.unpackb(msg.data, raw=False)
                if escalation["env"]["v"] > SCHEMA_VERSION:
                    raise ValueError(f"schema version {escalation['env']['v']}")
            except Exception as e:
                print(f"skipping undecodable escalation: {e}", flush=True)
                await msg.term()
                continue
            try:
                if now_us() < escalation["deadline_us"]:
                    vote = vote_for(escalation, args.id, args.specialty)
                    subject = f"lh.vote.{token(escalation['cmd_id'])}.{token(args.id)}"
                    await js.publish(
                        subject, msgpack.packb(vote), headers={"Nats-Msg-Id": vote["env"]["id"]}
                    )
                    print(f"{vote['choice']} {escalation['cmd_id']}: {vote['reasoning']}", flush=True)
                await msg.ack()
            except Exception as e:  # not acked: redelivered to this specialty later
                print(f"vote on {escalation.get('cmd_id')} failed: {type(e).__name__}: {e}", flush=True)
                if nc.is_closed:
                    break

    stop.set()
    await beat
    if nc.is_closed:
        print(f"python expert {args.id}: server gone, stopped", flush=True)
        return
    try:
        await asyncio.wait_for(kv.delete(key), 2)
    except Exception:
        pass  # the presence key expires with the bucket's TTL anyway
    try:
        await nc.drain()
    except Exception:
        pass
    print(f"python expert {args.id} stopped", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (nats.errors.NoServersError, OSError) as e:
        # One line naming the cause and the fix, not a traceback.
        print(f"python expert: cannot reach NATS ({e}): is `lighthouse up` running? (--url)", flush=True)
        raise SystemExit(1)
    except KeyboardInterrupt:
        raise SystemExit(130)
