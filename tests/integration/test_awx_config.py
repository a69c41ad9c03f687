"""The AWX configuration as code and the execution environment: the playbook passes the
syntax check and ansible-lint, the surveys and credential types have the shapes AWX's API
accepts, and `ansible-builder create` produces a build context from the collection's own
requirements.txt and bindep.txt. (No AWX server runs here; these check what can be checked
without one.)"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from helpers import ansible_env, BIN, REPO



class _Loader(yaml.SafeLoader):
    """YAML as Ansible reads awx/vars: ``!unsafe`` marks text sent to the controller verbatim."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
VARS = yaml.load((REPO / "awx" / "vars" / "golive.yml").read_text(), Loader=_Loader)  # noqa: S506
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
FIELD_TYPES = {"string", "boolean"}


def validate_survey(survey):
    """The checks AWX makes when a survey spec is saved (awx/api/views: survey validation)."""
    errors = []
    for key in ("name", "description", "spec"):
        if key not in survey:
            errors.append("'%s' missing from the survey spec" % key)
    spec = survey.get("spec")
    if not isinstance(spec, list) or not spec:
        return errors + ["'spec' must be a non-empty list"]
    seen = set()
    for n, item in enumerate(spec):
        where = "question %d" % (n + 1)
        for key in ("type", "question_name", "variable", "required"):
            if key not in item:
                errors.append("%s: '%s' missing" % (where, key))
        if item.get("type") not in SURVEY_TYPES:
            errors.append("%s: type %r is not one of %s" % (where, item.get("type"), sorted(SURVEY_TYPES)))
        if not isinstance(item.get("required"), bool):
            errors.append("%s: 'required' must be a boolean" % where)
        variable = item.get("variable", "")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", variable):
            errors.append("%s: variable %r is not a valid name" % (where, variable))
        if variable in seen:
            errors.append("%s: variable %r is asked twice" % (where, variable))
        seen.add(variable)
        if item.get("type") in ("multiplechoice", "multiselect"):
            choices = item.get("choices")
            choices = choices.split("\n") if isinstance(choices, str) else choices
            if not isinstance(choices, list) or not choices:
                errors.append("%s: choices are required" % where)
            elif item.get("default") not in (None, "") and item["default"] not in choices:
                errors.append("%s: default %r is not a choice" % (where, item["default"]))
        if item.get("type") in ("text", "textarea", "password"):
            low, high = item.get("min", 0), item.get("max", 1024)
            if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
                errors.append("%s: min and max must be integers, min <= max" % where)
            default = item.get("default")
            if default not in (None, "") and not (low <= len(default) <= high):
                errors.append("%s: the default is not between min and max characters" % where)
    return errors


def surveys():
    for template in VARS["golive_awx_job_templates"]:
        if template["questions"]:
            yield template["name"], {"name": template["name"], "description": "",
                                     "spec": [VARS["golive_awx_questions"][q] for q in template["questions"]]}
    yield "workflow", {"name": "workflow", "description": "", "spec": [
        VARS["golive_awx_questions"][q] for q in ("release", "change", "approver", "break_lock")]}


def test_every_survey_has_the_shape_awx_accepts():
    checked = dict(surveys())
    assert len(checked) == 9
    for name, survey in checked.items():
        assert validate_survey(survey) == [], name
    assert validate_survey({"name": "x", "description": "", "spec": [{"type": "choice"}]}) != []


def env_read_by_modules():
    text = "\n".join(p.read_text() for p in (REPO / "plugins").rglob("*.py"))
    found = set(name for group in re.findall(r"env_fallback, \[([^\]]+)\]", text)
                for name in re.findall(r'"([A-Z0-9_]+)"', group))
    # The Kubernetes options' variables are K8S_AUTH_<option> (k8s/client.py's env()).
    return found | set("K8S_AUTH_" + name for name in re.findall(r'fallback=env\("([A-Z0-9_]+)"\)', text))


def test_credential_types_inject_what_the_modules_read():
    env_names = env_read_by_modules()
    assert {"K8S_AUTH_KUBECONFIG", "PGPASSWORD", "REDIS_PASSWORD", "GOLIVE_TSIG_SECRET"} <= env_names
    docs = (REPO / "docs" / "awx.md").read_text()
    for ctype in VARS["golive_awx_credential_types"]:
        fields = ctype["inputs"]["fields"]
        ids = [f["id"] for f in fields]
        assert len(ids) == len(set(ids)), ctype["name"]
        for field in fields:
            assert field["type"] in FIELD_TYPES and field["label"], field
        assert set(ctype["inputs"].get("required", [])) <= set(ids)
        injectors = ctype["injectors"]
        assert set(injectors) <= {"env", "file", "extra_vars"}, ctype["name"]
        files = [k.split(".", 1)[1] for k in injectors.get("file", {})]
        for key in injectors.get("file", {}):
            assert key.startswith("template.")
        for kind in ("env", "file", "extra_vars"):
            for name, template in injectors.get(kind, {}).items():
                for ref in re.findall(r"{{\s*([A-Za-z0-9_.]+)\s*}}", template):
                    if ref.startswith("tower.filename."):
                        assert ref.split(".", 2)[2] in files, (ctype["name"], ref)
                    else:
                        assert ref in ids, (ctype["name"], ref)
                if kind == "env":
                    assert name in env_names, "%s injects %s, which no module reads" % (ctype["name"], name)
                if kind == "extra_vars":
                    assert name in docs, "%s is not documented in docs/awx.md" % name
        # No secret in a plain-text field.
        for field in fields:
            if re.search(r"password|secret|token|kubeconfig|url", field["id"]):
                assert field.get("secret") is True, (ctype["name"], field["id"])


def test_the_workflow_has_an_approval_before_every_phase_after_the_first():
    proc = subprocess.run([str(BIN / "ansible"), "localhost", "-m", "ansible.builtin.debug", "-a",
                           "msg={{ lookup('ansible.builtin.template', 'awx/templates/workflow_nodes.yml.j2') }}",
                           "-e", "@awx/vars/golive.yml", "-e", "golive_awx_organization=Default"],
                          cwd=REPO, env=ansible_env(), capture_output=True, text=True, check=True)
    text = proc.stdout.split("=>", 1)[1]
    nodes = yaml.safe_load(yaml.safe_load(text)["msg"])
    by_id = dict((n["identifier"], n) for n in nodes)
    templates = set(t["name"] for t in VARS["golive_awx_job_templates"])
    for phase in ("phase2", "phase3", "phase4", "phase5"):
        approval = by_id["approve-" + phase]
        assert approval["unified_job_template"]["type"] == "workflow_approval"
        assert approval["related"]["success_nodes"] == [{"identifier": phase}]
    for node in nodes:
        if node["unified_job_template"]["type"] == "job_template":
            assert node["unified_job_template"]["name"] in templates
        for link in ("success_nodes", "failure_nodes"):
            for target in (node.get("related") or {}).get(link, []):
                assert target["identifier"] in by_id
    assert by_id["phase5"]["related"]["failure_nodes"] == [{"identifier": "approve-rollback"}]


def test_the_awx_playbook_passes_the_syntax_check_and_lint():
    syntax = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "awx/configure.yml"], cwd=REPO,
                            env=ansible_env(), capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = subprocess.run([str(BIN / "ansible-lint"), "--offline", "-q", "awx/"], cwd=REPO, env=ansible_env(),
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_ansible_builder_create_produces_the_build_context(tmp_path):
    proc = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "--context",
                           str(tmp_path), "--output-filename", "Containerfile"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (tmp_path / "Containerfile").read_text()
    build = tmp_path / "_build"
    assert (build / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
    assert (build / "bindep.txt").read_text() == (REPO / "bindep.txt").read_text()
    assert (build / "golive" / "plugins" / "modules" / "notify.py").is_file()
    assert (build / "golive" / "plugins" / "callback" / "report.py").is_file()
    assert "ansible-galaxy collection install /tmp/golive-dist/" in containerfile
    assert "ansible-core==2.19.14" in containerfile and sys.version_info >= (3, 11)


def test_the_execution_environment_clients_match_the_lab_servers(lab, tmp_path):
    """The image's PostgreSQL client is of the server's major version or newer and its
    redis-server can load the server's RDB (the same major or newer); both are build
    arguments, enabled as module streams before bindep installs the packages."""
    import re
    proc = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "--context",
                           str(tmp_path), "--output-filename", "Containerfile"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (tmp_path / "Containerfile").read_text()
    pg_major = int(re.search(r"^ARG PG_MAJOR=(\d+)$", containerfile, re.M).group(1))
    redis_major = int(re.search(r"^ARG REDIS_MAJOR=(\d+)$", containerfile, re.M).group(1))
    enable = containerfile.index("module enable postgresql:${PG_MAJOR} redis:${REDIS_MAJOR}")
    assert enable < containerfile.index("install-from-bindep")  # the streams before the packages
    server_pg = subprocess.run([str(Path(lab["postgres"]["bindir"]) / "postgres"), "--version"],
                               capture_output=True, text=True, check=True).stdout
    assert pg_major >= int(re.search(r"(\d+)\.", server_pg).group(1)), server_pg
    server_redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, check=True).stdout
    assert redis_major >= int(re.search(r"v=(\d+)\.", server_redis).group(1)), server_redis


def awx_collection_that_validates_only(tmp_path):
    """A copy of the awx.awx collection the ``ansible`` package ships, whose modules run the
    real AnsibleModule validation of their real argument specs and then answer with the
    arguments instead of calling a controller (there is none here)."""
    import ansible_collections.awx.awx as real
    source = Path(real.__file__).parent if getattr(real, "__file__", None) else Path(list(real.__path__)[0])
    target = tmp_path / "collections" / "ansible_collections" / "awx" / "awx"
    shutil.copytree(source, target)
    api = target / "plugins" / "module_utils" / "controller_api.py"
    text = api.read_text()
    marker = "            super().__init__(argument_spec=full_argspec, **kwargs)\n"
    assert marker in text, "awx.awx changed how its modules build AnsibleModule"
    api.write_text(text.replace(marker, marker + "            self.exit_json(changed=False, validated=True)\n"))
    return tmp_path / "collections"


REGIONS = [{"name": "us-1", "instances": ["exec-us-1a"]}, {"name": "eu-1", "instances": ["exec-eu-1a", "exec-eu-1b"]},
           {"name": "ap-1", "instances": ["exec-ap-1a"]}]


def test_every_task_of_configure_yml_passes_awx_awx_argument_validation(tmp_path):
    collections = awx_collection_that_validates_only(tmp_path)
    env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (collections, REPO / ".cache" / "collections"),
                       "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
                       "CONTROLLER_HOST": "https://awx.invalid", "CONTROLLER_OAUTH_TOKEN": "not-used"})
    runs = []
    for attempt in range(2):  # the same arguments twice: nothing in them depends on a first run
        proc = subprocess.run([str(BIN / "ansible-playbook"), "awx/configure.yml",
                               "-e", "golive_awx_scm_url=https://git.example.com/ops/golive.git",
                               "-e", json.dumps({"golive_awx_watch": {"release": "2026.11.3",
                                                                      "live_at": "2026-11-24T09:12:00Z"}}),
                               "-e", json.dumps({"golive_awx_regions": REGIONS if attempt == 0 else []})],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout[proc.stdout.index("{"):]))
    results = {}
    for task in runs[0]["plays"][0]["tasks"]:
        host = task["hosts"]["localhost"]
        items = host.get("results") or [host]
        for item in items:
            assert item.get("validated") is True and not item.get("failed"), (task["task"]["name"], item)
        results[task["task"]["name"]] = items
    assert len(results["Credential types"]) == len(VARS["golive_awx_credential_types"])
    assert len(results["Job templates, one per phase and per rollback"]) == len(VARS["golive_awx_job_templates"])
    # The injectors reached the module verbatim, for the controller to render.
    kube = next(i for i in results["Credential types"] if i["invocation"]["module_args"]["name"].endswith("kubeconfig"))
    injectors = kube["invocation"]["module_args"]["injectors"]
    assert injectors["env"]["K8S_AUTH_KUBECONFIG"] == "{{ tower.filename.kubeconfig }}"
    assert injectors["file"]["template.kubeconfig"] == "{{ kubeconfig }}"
    workflow = results["The Day -7 to Day 0 workflow with approvals between phases"][0]["invocation"]["module_args"]
    assert workflow["destroy_current_nodes"] is False
    approvals = [n for n in workflow["workflow_nodes"] if n["unified_job_template"]["type"] == "workflow_approval"]
    assert approvals and all(n["unified_job_template"]["timeout"] == 0 for n in approvals)
    assert runs[1]["stats"]["localhost"]["changed"] == 0
    # The watch's schedules from the cutover: T+1 hour first, T+30 days last, each with its window.
    schedules = [i["invocation"]["module_args"] for i in results[
        "Schedules of the watch after the go-live of 2026.11.3"]]
    assert [s["rrule"] for s in schedules][0] == "DTSTART:20261124T101200Z RRULE:FREQ=HOURLY;INTERVAL=1;COUNT=1"
    assert schedules[-1]["rrule"].startswith("DTSTART:20261224T091200Z ")
    assert [s["extra_data"]["window"] for s in schedules] == ["1h", "1h", "24h", "24h", "7d", "30d"]
    assert all(s["unified_job_template"] == "golive watch" for s in schedules)
    # Several clusters: an instance group per region, each region's templates on it, limited to its
    # host, and phase 5 region by region, the canary first.
    groups = [i["invocation"]["module_args"] for i in results[
        "An instance group per region, of the execution nodes near its cluster"]]
    assert [(g["name"], g["policy_instance_list"]) for g in groups] == [
        ("golive us-1", ["exec-us-1a"]), ("golive eu-1", ["exec-eu-1a", "exec-eu-1b"]), ("golive ap-1", ["exec-ap-1a"])]
    regional = [i["invocation"]["module_args"] for i in results[
        "Each region's job templates, limited to its cluster's host and run on its instance group"]]
    assert len(regional) == 9
    us = dict((t["name"], t) for t in regional if t["name"].endswith("(us-1)"))
    assert sorted(us) == ["golive phase4 - Day -1 application (us-1)", "golive phase5 - Day 0 go-live (us-1)",
                          "golive rollback - emergency (us-1)"]
    assert all(t["limit"] == "us-1" and t["instance_groups"] == ["golive us-1"] for t in us.values())
    assert us["golive phase5 - Day 0 go-live (us-1)"]["job_tags"] == "phase5"
    flow = results["Phase 5 region by region, the canary (the first region) first, each behind an approval"][0]
    nodes = dict((n["identifier"], n) for n in flow["invocation"]["module_args"]["workflow_nodes"])
    assert nodes["approve-phase5-us-1"]["unified_job_template"]["name"] == "Approve Day 0 in us-1 (canary)"
    assert nodes["phase5-us-1"]["related"]["success_nodes"] == [{"identifier": "approve-phase5-eu-1"}]
    assert nodes["phase5-us-1"]["related"]["failure_nodes"] == [{"identifier": "approve-rollback-us-1"}]
    assert nodes["rollback-ap-1"]["unified_job_template"]["name"] == "golive rollback - emergency (ap-1)"
    assert "success_nodes" not in nodes["phase5-ap-1"]["related"]
