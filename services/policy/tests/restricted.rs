//! A project's own pack (`.lighthouse/policy.toml`, [`PolicyPack::parse_restricted`])
//! may only tighten: packs that would loosen are refused, and unknown and MCP tools
//! keep their default escalation whatever the project's rules say.

use lighthouse_policy::{Call, Policy, PolicyError, PolicyPack};
use lighthouse_schemas::Verdict::{self, Deny, Escalate};
use serde_json::{Value, json};

fn eval_tool(p: &Policy, tool: &str, input: Value) -> Verdict {
    p.evaluate(&Call {
        tool_name: tool,
        tool_input: &input,
        cwd: "/home/dev/project",
        home: Some("/home/dev"),
        branch: None,
    })
    .verdict
}

fn with_project(text: &str) -> Policy {
    let (Ok(mut packs), Ok(project)) = (
        Policy::builtin_packs(),
        PolicyPack::parse_restricted("project", text),
    ) else {
        panic!("packs do not load");
    };
    packs.push(project);
    match Policy::from_packs(&packs) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn refused(text: &str) -> String {
    match PolicyPack::parse_restricted("project", text) {
        Err(e @ PolicyError::Pack { .. }) => e.to_string(),
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn allow_rules_are_refused() {
    let e = refused("[[rule]]\nid = \"project.dev_tools\"\nverdict = \"allow\"\n");
    assert!(
        e.contains("may only tighten") && e.contains("project.dev_tools"),
        "{e}"
    );
    // An override of a built-in rule with allow, too.
    refused("[[rule]]\nid = \"net.pipe_to_shell\"\nverdict = \"allow\"\n");
    // The same text is fine in a central (trusted) pack.
    PolicyPack::parse("central", "[[rule]]\nid = \"x\"\nverdict = \"allow\"\n").unwrap();
}

#[test]
fn allow_for_production_and_allow_tool_defaults_are_refused() {
    let e = refused(
        "[[rule]]\nid = \"p.x\"\nverdict = \"escalate\"\nproduction = \"allow\"\ncommands = [\"psql\"]\n",
    );
    assert!(e.contains("production"), "{e}");
    let e = refused("[[tool]]\nname = \"*\"\nverdict = \"allow\"\n");
    assert!(e.contains("tool default"), "{e}");
}

#[test]
fn project_rules_do_not_replace_a_tool_default() {
    let base = Policy::builtin();
    let p = with_project(
        "[[rule]]\nid = \"project.review_tools\"\nverdict = \"escalate\"\nreason = \"r\"\n",
    );
    for (tool, input) in [
        ("SomeNewTool", json!({})),
        ("mcp__k8s__delete_namespace", json!({"name": "staging"})),
        ("invoke_agent", json!({"prompt": "x"})),
    ] {
        let before = eval_tool(&base, tool, input.clone());
        assert!(before != Verdict::Allow, "{tool}");
        assert_eq!(eval_tool(&p, tool, input), before, "{tool}");
    }
}

#[test]
fn project_rules_still_tighten() {
    let p = with_project(
        "[[rule]]\nid = \"project.no_helm_uninstall\"\nverdict = \"deny\"\ncommands = [\"helm\"]\nargs_any = [\"^uninstall$\"]\n",
    );
    let bash = |c: &str| eval_tool(&p, "Bash", json!({ "command": c }));
    assert_eq!(bash("helm uninstall web"), Deny);
    assert_eq!(bash("rm -rf /"), Deny);
    assert_eq!(eval_tool(&p, "SomeNewTool", json!({})), Escalate);
}

#[test]
fn a_project_rule_does_not_lift_a_stricter_default() {
    // The project's own deny default for its cluster tools, and a broad review rule:
    // the rule must not take the default's place (it used to, turning deny into
    // escalate).
    let p = with_project(
        "[[tool]]\nname = \"mcp__k8s__*\"\nverdict = \"deny\"\n\n[[rule]]\nid = \"project.review_all\"\nverdict = \"escalate\"\nreason = \"r\"\n",
    );
    assert_eq!(
        eval_tool(&p, "mcp__k8s__delete_namespace", json!({"name": "x"})),
        Deny
    );
}

#[test]
fn a_tool_default_stands_beside_the_command_an_mcp_tool_becomes() {
    // Structured cluster, git and docker tools are judged as the command line they
    // stand for; a project's stricter default for those tools must still hold (it was
    // bypassed: `kubectl get pods` is allowed, so the deny never applied).
    let p = with_project(
        "[[tool]]\nname = \"mcp__k8s__*\"\nverdict = \"deny\"\nreason = \"no cluster tools here\"\n\n[[tool]]\nname = \"mcp__git__*\"\nverdict = \"escalate\"\n",
    );
    let base = Policy::builtin();
    let calls = [
        ("mcp__k8s__kubectl_get", json!({"resourceType": "pods"})),
        (
            "mcp__git__git_status",
            json!({"repo_path": "/home/dev/project"}),
        ),
    ];
    for (tool, input) in &calls {
        assert_eq!(
            eval_tool(&base, tool, input.clone()),
            Verdict::Allow,
            "{tool}"
        );
    }
    let e = p.evaluate(&Call {
        tool_name: calls[0].0,
        tool_input: &calls[0].1,
        cwd: "/home/dev/project",
        home: Some("/home/dev"),
        branch: None,
    });
    assert_eq!(
        (e.verdict, e.reason.as_str()),
        (Deny, "no cluster tools here")
    );
    assert_eq!(eval_tool(&p, calls[1].0, calls[1].1.clone()), Escalate);
    // The stricter of the two still wins the other way: a command that is denied
    // stays denied under a milder default.
    let force = json!({"repo_path": "/home/dev/project", "force": true, "remote": "origin", "branch": "main"});
    assert_eq!(eval_tool(&base, "mcp__git__git_push", force.clone()), Deny);
    assert_eq!(eval_tool(&p, "mcp__git__git_push", force), Deny);
}
