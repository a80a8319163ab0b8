"""What the charter probes share: cases written as `B` blocks (`EXPECT CLASS :: command`,
⏎ for a newline, ⇥ for a tab) and `T` calls, printed as hook payloads by `emit`.

With `--pending`, `emit` prints only the cases in the probe's PENDING set (the ones the
engine still decides wrongly); without it, every other case.
"""
import json
import sys

MODES = ["default", "acceptEdits", "plan", "bypassPermissions"]
cases = []


def T(expect, cls, tool, inp):
    cases.append((expect, cls, tool, inp))


def B(block, subst=None):
    for line in block.strip("\n").split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head, cmd = line.split(" :: ", 1)
        expect, cls = head.split()
        cmd = cmd.replace("⏎", "\n").replace("⇥", "\t")
        for k, v in (subst or {}).items():
            cmd = cmd.replace(k, v)
        cases.append((expect, cls, "Bash", {"command": cmd}))


def emit(prefix, session, cwd, description=None, project="project", pending=(), out=None):
    """Prints the payloads (ids `toolu_<prefix>_NNNN`), or writes them to `out`. Every
    third Bash call carries `description`, as agents often send one."""
    only_pending = "--pending" in sys.argv
    lines = []
    for n, (expect, cls, tool, inp) in enumerate(cases):
        tool_use_id = f"toolu_{prefix}_{n + 1:04d}"
        if (tool_use_id in pending) != only_pending:
            continue
        inp = dict(inp)
        if description and tool == "Bash" and n % 3 == 0:
            inp["description"] = description
        lines.append(json.dumps({
            "session_id": f"{session}-corpus",
            "transcript_path": f"/home/dev/.claude/projects/{project}/{session}-corpus.jsonl",
            "cwd": cwd,
            "permission_mode": MODES[n % 4],
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": inp,
            "tool_use_id": tool_use_id,
            "expect": expect,
            "class": cls,
        }))
    if out and not only_pending:
        with open(out, "w") as f:
            f.write("\n".join(lines) + "\n")
    else:
        for line in lines:
            print(line)
