"""Precedence, file rules, command rules, reasons, suggest_rule and allow_for_session."""

from __future__ import annotations

import pytest

from kode.core.permissions import PermissionMode, PermissionPolicy, Rule, RuleError


def decide(policy: PermissionPolicy, command: str) -> str:
    return policy.decide("bash", "bash", command).action


# -- precedence -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [PermissionMode.DEFAULT, PermissionMode.ACCEPT_EDITS])
def test_deny_wins_over_ask_wins_over_allow_for_files(mode: PermissionMode) -> None:
    policy = PermissionPolicy(
        mode, allow=["edit", "edit(src/**)"], ask=["edit(src/config/**)"], deny=["edit(src/config/secret.py)"]
    )
    assert policy.decide("edit_file", "edit", "src/config/secret.py").action == "deny"
    assert policy.decide("edit_file", "edit", "src/config/app.py").action == "ask"
    assert policy.decide("edit_file", "edit", "src/main.py").action == "allow"


def test_deny_wins_over_ask_wins_over_allow_for_commands() -> None:
    policy = PermissionPolicy(allow=["bash(git*)"], ask=["bash(git push*)"], deny=["bash(git push --force*)"])
    assert decide(policy, "git push --force") == "deny"
    assert decide(policy, "git push origin main") == "ask"
    assert decide(policy, "git log") == "allow"


def test_ask_rules_make_allowed_calls_ask() -> None:
    policy = PermissionPolicy(PermissionMode.ACCEPT_EDITS, ask=["read(.env)", "edit(*.lock)", "mcp__x"])
    assert policy.decide("read_file", "read", ".env").action == "ask"
    assert policy.decide("read_file", "read", "pkg/.env").action == "ask"
    assert policy.decide("edit_file", "edit", "uv.lock").action == "ask"
    assert policy.decide("mcp__x", "other", "").action == "ask"
    assert policy.decide("edit_file", "edit", "a.py").action == "allow"


def test_deny_rules_hold_in_every_mode() -> None:
    for mode in PermissionMode:
        policy = PermissionPolicy(mode, deny=["read(secrets/**)", "bash(rm *)", "mcp__github__delete_repo"])
        assert policy.decide("read_file", "read", "secrets/id_rsa").action == "deny"
        assert policy.decide("grep", "read", "secrets/x/y").action == "deny"
        assert decide(policy, "ls; rm -rf /") == "deny"
        assert policy.decide("mcp__github__delete_repo", "other", "kode").action == "deny"


# -- files ----------------------------------------------------------------------------------------


def test_edit_rules_with_globs_in_default_mode() -> None:
    policy = PermissionPolicy(allow=["edit(src/**)", "write_file(*.md)"])
    assert policy.decide("edit_file", "edit", "src/pkg/a.py").action == "allow"
    assert policy.decide("edit_file", "edit", "tests/a.py").action == "ask"
    assert policy.decide("write_file", "edit", "docs/guide.md").action == "allow"
    assert policy.decide("edit_file", "edit", "docs/guide.md").action == "ask"  # rule names write_file


def test_paths_are_normalised_before_matching() -> None:
    policy = PermissionPolicy(deny=["read(secrets/**)"], allow=["edit(src/**)"])
    assert policy.decide("read_file", "read", "./secrets/a").action == "deny"
    assert policy.decide("read_file", "read", "src/../secrets/a").action == "deny"
    assert policy.decide("read_file", "read", "secrets//a").action == "deny"
    assert policy.decide("edit_file", "edit", "./src/a.py").action == "allow"
    assert policy.decide("edit_file", "edit", "src/../tests/a.py").action == "ask"


def test_paths_outside_the_workspace() -> None:
    policy = PermissionPolicy(PermissionMode.ACCEPT_EDITS, allow=["edit(**)"], deny=["read(secrets/**)"])
    edit = policy.decide("edit_file", "edit", "/etc/hosts")
    assert edit.action == "ask"
    assert "outside the workspace" in edit.reason
    assert policy.decide("edit_file", "edit", "../other/a.py").action == "ask"
    # Deny rules see an outside path from every directory down.
    assert policy.decide("read_file", "read", "/home/u/proj/secrets/key").action == "deny"
    assert policy.decide("read_file", "read", "/etc/hosts").action == "allow"


def test_other_tools_match_their_target_with_a_glob() -> None:
    policy = PermissionPolicy(deny=["web_fetch(http://*)"], allow=["mcp__github__create_issue"])
    assert policy.decide("web_fetch", "other", "http://127.0.0.1/x").action == "deny"
    assert policy.decide("web_fetch", "other", "https://127.0.0.1/x").action == "allow"
    assert policy.decide("mcp__github__create_issue", "other", "").action == "allow"


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError):
        PermissionPolicy().decide("x", "write", "a")  # type: ignore[arg-type]


# -- commands -------------------------------------------------------------------------------------


def test_reasons_name_the_sub_command_and_the_rule() -> None:
    policy = PermissionPolicy(allow=["bash(make*)"], ask=["bash(git push*)"], deny=["bash(rm *)"])
    denied = policy.decide("bash", "bash", "make && rm -rf build")
    assert denied.reason == "`rm -rf build` matches deny rule bash(rm *)"
    assert denied.rule == "bash(rm *)"
    asked = policy.decide("bash", "bash", "git push")
    assert asked.reason == "`git push` matches ask rule bash(git push*)"
    allowed = policy.decide("bash", "bash", "make test")
    assert (allowed.action, allowed.rule) == ("allow", "bash(make*)")
    refused = policy.decide("bash", "bash", "make && curl x")
    assert refused.action == "ask"
    assert "`curl x` matches no allow rule" in refused.reason


def test_compound_allow_lists_every_rule_used() -> None:
    policy = PermissionPolicy(allow=["bash(git status*)", "bash(ls*)"])
    decision = policy.decide("bash", "bash", "git status && ls -la")
    assert decision.action == "allow"
    assert decision.rule == "bash(git status*), bash(ls*)"


def test_writes_to_files_need_a_rule_with_a_redirect() -> None:
    policy = PermissionPolicy(allow=["bash(echo*)", "bash(git log > *)"])
    assert decide(policy, "echo hi > /dev/null") == "allow"
    assert decide(policy, "echo hi 2>&1 >&2") == "allow"
    decision = policy.decide("bash", "bash", "echo hi > notes.txt")
    assert decision.action == "ask"
    assert "writes to a file" in decision.reason
    assert decide(policy, "echo hi >> notes.txt") == "ask"
    assert decide(policy, "echo hi &> notes.txt") == "ask"
    assert decide(policy, "{ echo a; echo b; } > notes.txt") == "ask"
    assert decide(policy, "git log > log.txt") == "allow"
    assert decide(PermissionPolicy(PermissionMode.ACCEPT_EDITS, allow=["bash(echo*)"]), "echo x > f") == "ask"


def test_dynamic_command_names_are_never_allowed_by_patterns() -> None:
    policy = PermissionPolicy(allow=["bash(*)"])
    assert decide(policy, "ls") == "allow"
    for command in ["$CMD -rf x", "$(echo rm) -rf x", "`which rm` x", "/bin/r? x", "{rm,-rf,x}"]:
        decision = policy.decide("bash", "bash", command)
        assert decision.action == "ask", command
    assert "only known at run time" in policy.decide("bash", "bash", "$CMD").reason


def test_a_bare_bash_rule_allows_everything_but_deny_rules_still_hold() -> None:
    policy = PermissionPolicy(allow=["bash"], deny=["bash(rm *)"])
    assert decide(policy, "$CMD; case x in y) z;; esac") == "allow"
    assert decide(policy, "ls; rm -rf x") == "deny"


def test_unparseable_commands_are_never_allowed_by_patterns_but_still_denied() -> None:
    policy = PermissionPolicy(allow=["bash(ls*)"], deny=["bash(rm *)"])
    decision = policy.decide("bash", "bash", "case $x in a) ls;; esac")
    assert decision.action == "ask"
    assert "could not be parsed" in decision.reason
    assert decide(policy, "case $x in a) ls;; b) rm -rf /;; esac") == "deny"
    assert decide(policy, "(( i++ )); ls; rm -rf x") == "deny"
    assert decide(policy, "a=(1 2); sudo -u x rm -rf y") == "deny"
    assert decide(PermissionPolicy(PermissionMode.ACCEPT_EDITS, allow=["bash(ls*)"]), "case x in a) ls;; esac") == "ask"


def test_denied_commands_in_quoted_text_ask_instead_of_being_allowed() -> None:
    policy = PermissionPolicy(allow=["bash(echo*)", "bash(git commit*)"], deny=["bash(rm *)", "bash(git push*)"])
    decision = policy.decide("bash", "bash", 'echo "done; rm -rf build"')
    assert (decision.action, decision.rule) == ("ask", "bash(rm *)")
    assert "would match deny rule bash(rm *) if it ran" in decision.reason
    assert decide(policy, "git commit -m 'Stop using rm -rf in the Makefile'") == "allow"
    assert decide(policy, 'echo "remember to git push"') == "allow"
    bypass = PermissionPolicy(PermissionMode.BYPASS, deny=["bash(rm *)", "bash(curl*)"])
    assert decide(bypass, "echo 'a && rm -rf x'") == "ask"
    assert decide(bypass, "echo 'rm -rf x'") == "allow"
    assert decide(bypass, "grep -rn 'curl' src") == "allow"


def test_a_literal_rule_allows_exactly_that_compound_command() -> None:
    policy = PermissionPolicy(allow=["bash(npm ci && npm test)"])
    assert decide(policy, "npm ci && npm test") == "allow"
    assert decide(policy, "  npm ci && npm test\n") == "allow"
    assert decide(policy, "npm ci && npm test && rm x") == "ask"
    assert decide(policy, "npm ci") == "ask"


def test_wrappers() -> None:
    policy = PermissionPolicy(
        allow=["bash(git status*)", "bash(grep foo*)", "bash(sudo apt*)", "bash(apt*)", "bash(find*)"]
    )
    assert decide(policy, "timeout 5 git status") == "allow"
    assert decide(policy, "nice -n 5 nohup git status") == "allow"
    assert decide(policy, "env LC_ALL=C git status") == "allow"
    assert decide(policy, "bash -c 'git status'") == "allow"
    assert decide(policy, "eval git status") == "allow"
    assert decide(policy, "sudo git status") == "ask"  # sudo itself needs a rule
    assert decide(policy, "sudo apt install x") == "allow"
    assert decide(policy, "find . | xargs grep foo") == "allow"
    assert decide(PermissionPolicy(allow=["bash(grep foo)", "bash(find*)"]), "find . | xargs grep foo") == "ask"


def test_assignments_that_change_what_runs_need_their_own_rule() -> None:
    policy = PermissionPolicy(allow=["bash(git status*)", "bash(git log*)"])
    assert decide(policy, "LANG=C git status") == "allow"
    assert decide(policy, "GIT_PAGER=cat git log") == "allow"
    for command in ["PATH=/tmp/evil git status", "LD_PRELOAD=x.so git status", "GIT_SSH_COMMAND=x git log",
                    "env HOME=/tmp git status", "PAGER='sh -c x' git log"]:  # fmt: skip
        assert decide(policy, command) == "ask", command
    explicit = PermissionPolicy(allow=["bash(PATH=* git status*)", "bash(git status*)"])
    assert decide(explicit, "PATH=/x git status") == "allow"


def test_assignments_alone_need_approval() -> None:
    assert decide(PermissionPolicy(allow=["bash(ls*)"]), "x=1") == "ask"
    assert decide(PermissionPolicy(allow=["bash(ls*)"]), "x=1; ls") == "allow"
    assert decide(PermissionPolicy(allow=["bash(ls*)"]), "PATH=/x; ls") == "ask"


def test_empty_command_asks() -> None:
    assert decide(PermissionPolicy(allow=["bash(ls*)"]), "") == "ask"
    assert decide(PermissionPolicy(allow=["bash(ls*)"]), "# just a comment") == "ask"


def test_rules_for_other_tools_do_not_apply_to_commands() -> None:
    policy = PermissionPolicy(allow=["edit", "read", "mcp__x"], deny=["read(secrets/**)"])
    assert decide(policy, "cat secrets/key") == "ask"  # file rules do not look into commands


def test_bad_rules_are_reported_at_construction() -> None:
    with pytest.raises(RuleError, match="missing closing"):
        PermissionPolicy(deny=["bash(rm *"])
    assert PermissionPolicy(allow=[Rule.parse("bash(ls*)")]).allow_rules == (Rule.parse("bash(ls*)"),)


# -- allow_for_session and suggest_rule ---------------------------------------------------------------


def test_allow_for_session() -> None:
    policy = PermissionPolicy(allow=["bash(ls*)"])
    assert decide(policy, "git status -s") == "ask"
    policy.allow_for_session("bash(git status*)")
    policy.allow_for_session("bash(git status*)")
    policy.allow_for_session("bash(ls*)")
    assert policy.session_rules == (Rule.parse("bash(git status*)"),)
    assert policy.allow_rules == (Rule.parse("bash(ls*)"), Rule.parse("bash(git status*)"))
    assert decide(policy, "git status -s && ls") == "allow"
    with pytest.raises(RuleError):
        policy.allow_for_session("bash(")


def test_session_rules_do_not_override_deny_or_ask() -> None:
    policy = PermissionPolicy(ask=["bash(git push*)"], deny=["bash(rm *)"])
    policy.allow_for_session("bash")
    assert decide(policy, "git push") == "ask"
    assert decide(policy, "rm -rf x") == "deny"
    assert decide(policy, "make") == "allow"


@pytest.mark.parametrize(
    ("tool", "kind", "target", "rule"),
    [
        ("bash", "bash", "git status -s", "bash(git status*)"),
        ("bash", "bash", "ls -la", "bash(ls*)"),
        ("bash", "bash", "cat README.md", "bash(cat*)"),
        ("bash", "bash", "npm run test", "bash(npm run*)"),
        ("bash", "bash", "pytest -x tests/", "bash(pytest*)"),
        ("bash", "bash", "  make  ", "bash(make*)"),
        ("bash", "bash", "git status && ls", "bash(git status && ls)"),
        ("bash", "bash", "rm -rf build", "bash(rm -rf build)"),
        ("bash", "bash", "python script.py", "bash(python script.py)"),
        ("bash", "bash", "ls *.py | wc -l", "bash(ls \\*.py | wc -l)"),
        ("bash", "bash", "echo hi > out.txt", "bash(echo hi > out.txt)"),
        ("bash", "bash", "sudo apt install x", "bash(sudo apt install x)"),
        ("bash", "bash", "", "bash"),
        ("edit_file", "edit", "src/a.py", "edit(src/a.py)"),
        ("write_file", "edit", "./docs/b.md", "edit(docs/b.md)"),
        ("edit_file", "edit", "a[1]*.py", "edit(a\\[1\\]\\*.py)"),
        ("edit_file", "edit", "!weird", "edit(\\!weird)"),
        ("read_file", "read", "secrets/k", "read(secrets/k)"),
        ("todo", "other", "", "todo"),
        ("web_fetch", "other", "https://127.0.0.1/*", "web_fetch(https://127.0.0.1/\\*)"),
    ],
)
def test_suggest_rule(tool: str, kind: str, target: str, rule: str) -> None:
    assert PermissionPolicy.suggest_rule(tool, kind, target) == rule  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tool", "kind", "target"),
    [
        ("bash", "bash", "git status -s"),
        ("bash", "bash", "git status && ls -la | grep x"),
        ("bash", "bash", "ls *.py"),
        ("bash", "bash", "echo 'a  b' > out.txt"),
        ("bash", "bash", "rm -rf build"),
        ("edit_file", "edit", "src/a[1]*.py"),
        ("edit_file", "edit", "README.md"),
        ("web_fetch", "other", "https://127.0.0.1/*"),
    ],
)
def test_a_suggested_rule_allows_the_call_it_was_made_for(tool: str, kind: str, target: str) -> None:
    policy = PermissionPolicy()
    assert policy.decide(tool, kind, target).action in ("ask", "allow")  # type: ignore[arg-type]
    policy.allow_for_session(PermissionPolicy.suggest_rule(tool, kind, target))  # type: ignore[arg-type]
    assert policy.decide(tool, kind, target).action == "allow"  # type: ignore[arg-type]


def test_suggested_rules_are_not_broader_than_shown_for_risky_programs() -> None:
    policy = PermissionPolicy()
    policy.allow_for_session(PermissionPolicy.suggest_rule("bash", "bash", "rm -rf build"))
    assert decide(policy, "rm -rf build") == "allow"
    assert decide(policy, "rm -rf /") == "ask"
